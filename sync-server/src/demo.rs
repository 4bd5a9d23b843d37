//! Reference data every fresh installation needs, and demo data for trying the product: one
//! account per role, and ~500 reports in every state spread over the city and the last 90 days.
//! Demo reports are made through the same code paths as real ones (submission, actions, the
//! overdue sweep), at past times, so their timelines and deadlines are real.

use crate::clock::{Clock, ManualClock};
use crate::http::accounts::create_account;
use crate::reports::actions::{ActionRequest, act};
use crate::reports::submit::submit_report;
use crate::state::AppState;
use crate::storage::{ResponseTemplate, Storage, UserRecord};
use bytes::Bytes;
use chrono::Duration;
use smartmap_shared::body::tbilisi_bodies;
use smartmap_shared::category::first_stage_categories;
use smartmap_shared::district::demo_districts;
use smartmap_shared::geo::LatLon;
use smartmap_shared::i18n::Localized;
use smartmap_shared::ids::{BodyId, CategoryId, DistrictId};
use smartmap_shared::report::Action;
use smartmap_shared::role::Role;
use smartmap_shared::routing::default_routing_rules;
use std::sync::Arc;

/// Loads categories, bodies, approximate district polygons, routing rules and response templates.
pub async fn seed_reference(storage: &dyn Storage) -> anyhow::Result<()> {
    for category in first_stage_categories() {
        storage.upsert_category(&category).await?;
    }
    storage.upsert_districts(&demo_districts()).await?;
    for body in tbilisi_bodies() {
        storage.upsert_body(&body).await?;
    }
    storage.replace_routing_rules(&default_routing_rules()).await?;
    for template in templates() {
        storage.upsert_template(&template).await?;
    }
    Ok(())
}

fn templates() -> Vec<ResponseTemplate> {
    let t = |id: &str, category: &str, title: (&str, &str), body: (&str, &str)| ResponseTemplate {
        id: id.into(),
        category: CategoryId::parse(category).expect("static slug"),
        title: Localized::new(title.0, title.1),
        body: Localized::new(body.0, body.1),
    };
    vec![
        t(
            "lighting-scheduled",
            "street-lighting",
            ("სამუშაო დაგეგმილია", "Work scheduled"),
            (
                "განათების აღდგენა დაგეგმილია უახლოეს დღეებში.",
                "Repair of the lighting is scheduled in the coming days.",
            ),
        ),
        t(
            "lighting-grid",
            "street-lighting",
            ("ქსელის დაზიანება", "Grid fault"),
            (
                "დაზიანება ელექტროქსელშია; ინფორმაცია გადაეცა ენერგოკომპანიას.",
                "The fault is in the power grid; the energy company has been informed.",
            ),
        ),
        t(
            "trees-inspection",
            "trees-greenery",
            ("დათვალიერება", "Inspection"),
            (
                "ხეს დაათვალიერებს დენდროლოგი და მიიღება გადაწყვეტილება.",
                "A dendrologist will inspect the tree and decide what to do.",
            ),
        ),
        t(
            "benches-installed",
            "park-benches",
            ("სკამი დამონტაჟდა", "Bench installed"),
            ("სკამი დამონტაჟდა/შეკეთდა.", "The bench has been installed or repaired."),
        ),
        t(
            "cleaning-done",
            "cleaning",
            ("დასუფთავდა", "Cleaned"),
            ("ტერიტორია დასუფთავდა.", "The area has been cleaned."),
        ),
    ]
}

/// A demo account's credentials, printed at start-up.
pub struct DemoAccount {
    /// The role.
    pub role: Role,
    /// Login e-mail.
    pub email: String,
    /// Password.
    pub password: String,
    /// What the account is scoped to.
    pub scope: String,
}

/// A small deterministic generator (SplitMix64): the same demo city every time.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const DESCRIPTIONS: &[(&str, &str)] = &[
    (
        "street-lighting",
        "ბოძზე ნათურა არ ანთებს, ღამით ქუჩა ბნელა. / The street lamp is out; the street is dark at night.",
    ),
    ("street-lighting", "სანათი ციმციმებს. / The lamp keeps flickering."),
    ("trees-greenery", "ხეს მშრალი ტოტები აქვს, შეიძლება ჩამოვარდეს. / Dry branches may fall from the tree."),
    (
        "trees-greenery",
        "ხის ვარჯი ფარავს ფანჯრებს, საჭიროა ფორმირება. / The crown covers the windows and needs shaping.",
    ),
    ("park-benches", "სკვერში სკამი გატეხილია. / A bench in the square is broken."),
    ("park-benches", "სათამაშო მოედანთან სკამი არ არის. / There is no bench by the playground."),
    ("cleaning", "ნაგავი არ გაუტანიათ რამდენიმე დღეა. / Rubbish has not been collected for days."),
    ("cleaning", "ტროტუარზე სამშენებლო ნარჩენებია. / Construction waste on the pavement."),
];

/// A small JPEG of a flat colour, standing in for a resident's photo.
fn demo_photo(seed: u8) -> Bytes {
    let img = image::RgbImage::from_fn(320, 240, |x, y| {
        image::Rgb([(x as u8).wrapping_add(seed), (y as u8).wrapping_mul(2), seed.wrapping_mul(37)])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).expect("encoding a JPEG in memory");
    Bytes::from(out.into_inner())
}

async fn account(
    state: &AppState,
    role: Role,
    email: &str,
    name: &str,
    district: Option<&str>,
    body: Option<&str>,
) -> anyhow::Result<(UserRecord, DemoAccount)> {
    let password = format!("tbilisi-{}", role.as_str().replace('_', "-"));
    let district = district.map(|d| DistrictId::parse(d).expect("static slug"));
    let body = body.map(|b| BodyId::parse(b).expect("static slug"));
    let scope = district
        .as_ref()
        .map(|d| format!("district {d}"))
        .or(body.as_ref().map(|b| format!("body {b}")))
        .unwrap_or_default();
    let user = create_account(state, email, &password, name, role, district, body)
        .await
        .map_err(|e| anyhow::anyhow!("creating {email}: {e:?}"))?;
    Ok((user, DemoAccount { role, email: email.into(), password, scope }))
}

/// Creates the demo accounts and `reports` reports. Run once, on an empty database.
pub async fn seed_demo(state: &AppState, reports: usize) -> anyhow::Result<Vec<DemoAccount>> {
    let mut printed = Vec::new();
    let mut made = |pair: (UserRecord, DemoAccount)| {
        printed.push(pair.1);
        pair.0
    };
    let resident = made(account(state, Role::Resident, "resident@demo.smartmap.ge", "ნინო ბერიძე", None, None).await?);
    let crew = made(
        account(state, Role::FieldCrew, "crew@demo.smartmap.ge", "თბილსერვისის ბრიგადა 1", None, Some("tbilservice"))
            .await?,
    );
    made(
        account(state, Role::DistrictStaff, "gldani@demo.smartmap.ge", "გლდანის გამგეობა", Some("gldani"), None)
            .await?,
    );
    made(
        account(
            state,
            Role::DepartmentStaff,
            "tbilservice@demo.smartmap.ge",
            "თბილსერვის ჯგუფი",
            None,
            Some("tbilservice"),
        )
        .await?,
    );
    made(account(state, Role::Moderator, "moderator@demo.smartmap.ge", "მოდერატორი", None, None).await?);
    let admin = made(account(state, Role::Admin, "admin@demo.smartmap.ge", "ადმინისტრატორი", None, None).await?);

    // Demo heads of every body, so overdue escalations have somewhere to go.
    for body in &state.reference().bodies {
        let head_email = Some(format!("head.{}@demo.smartmap.ge", body.id));
        state.storage.upsert_body(&smartmap_shared::body::Body { head_email, ..body.clone() }).await?;
    }
    state.reload_reference().await?;

    // One crew per body that receives reports, so every demo ticket can be worked.
    let reference = state.reference();
    let mut crews = vec![crew];
    for body in &reference.bodies {
        if body.id.as_str() == "tbilservice" {
            continue;
        }
        let email = format!("crew-{}@demo.smartmap.ge", body.id);
        let (user, _) = account(
            state,
            Role::FieldCrew,
            &email,
            &format!("{} — ბრიგადა", body.name.ka),
            None,
            Some(body.id.as_str()),
        )
        .await?;
        crews.push(user);
    }

    // Replay the last 90 days on a clock of our own, so deadlines and overdue flags are real.
    let now = state.clock.now();
    let start = now - Duration::days(90);
    let clock = Arc::new(ManualClock::new(start));
    let past = state.with_clock(clock.clone());
    let mut rng = Rng(0x5EED_7B11_2026);
    let photos = [demo_photo(10), demo_photo(90), demo_photo(170)];
    let proof = demo_photo(250);
    let step = Duration::days(90) / (reports.max(1) as i32);
    let districts = reference.districts.districts().to_vec();
    let mut first_of_category: std::collections::HashMap<CategoryId, uuid::Uuid> = Default::default();
    for i in 0..reports {
        clock.set(start + step * (i as i32));
        let (category, description) = DESCRIPTIONS[rng.below(DESCRIPTIONS.len())];
        let district = &districts[rng.below(districts.len())];
        let bbox = district.area.bbox();
        let point = loop {
            let lat = bbox.south() + rng.unit() * (bbox.north() - bbox.south());
            let lon = bbox.west() + rng.unit() * (bbox.east() - bbox.west());
            let p = LatLon::new(lat, lon)?;
            if district.area.contains(p) {
                break p;
            }
        };
        let json = serde_json::json!({
            "category": category,
            "location": { "lat": point.lat(), "lon": point.lon() },
            "description": description,
            "hide_name": i % 7 == 0,
        });
        let uploads = if i % 3 == 0 { vec![photos[i % 3].clone()] } else { vec![photos[rng.below(3)].clone()] };
        let submitted = submit_report(&past, &resident, json.to_string().as_bytes(), uploads)
            .await
            .map_err(|e| anyhow::anyhow!("demo report {i}: {e:?}"))?
            .report;
        let id = submitted.id;
        let body = submitted.body.clone().expect("routed");
        let crew = crews.iter().find(|c| c.body.as_ref() == Some(&body)).expect("a crew per body");
        let do_act = |action: Action, note: Option<&str>| ActionRequest {
            action,
            public_note: note.map(str::to_owned),
            internal_note: None,
            template: None,
        };
        // How far along this report got: every state occurs, but as in a working city most of
        // the older reports have been dealt with and the open backlog is mostly recent.
        let stage = if i < reports * 4 / 5 { 45 + rng.below(55) } else { rng.below(100) };
        // Actions follow the submission by hours or days, but never run into the future.
        let later = |h: i64| {
            clock.advance(Duration::hours(h));
            if clock.now() > now {
                clock.set(now);
            }
        };
        if stage >= 15 {
            later(3);
            act(&past, &admin, id, do_act(Action::Acknowledge, None), vec![])
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        }
        if (15..25).contains(&stage) {
            let note = Some("მუშაობა მიმდინარეობს / Work is under way");
            act(&past, &admin, id, ActionRequest { template: None, ..do_act(Action::Respond, note) }, vec![])
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        }
        if (30..88).contains(&stage) {
            later(5);
            act(&past, &admin, id, do_act(Action::AssignCrew { crew: crew.id }, None), vec![])
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        }
        if (45..88).contains(&stage) {
            later(20 + rng.below(60) as i64);
            act(
                &past,
                crew,
                id,
                do_act(Action::MarkFixed { proof_photos: 1 }, Some("გამოსწორდა / Fixed")),
                vec![proof.clone()],
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        }
        if (80..88).contains(&stage) {
            later(24);
            act(
                &past,
                &resident,
                id,
                do_act(
                    Action::Dispute {
                        reason: "პრობლემა ისევ არის / The problem is still there".into()
                    },
                    None,
                ),
                vec![],
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        }
        if (88..93).contains(&stage) {
            later(10);
            let reason = "ტერიტორია კერძო საკუთრებაა / The area is private property".into();
            act(&past, &admin, id, do_act(Action::NoAction { reason }, None), vec![])
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        }
        if (93..97).contains(&stage) {
            let original = first_of_category.get(&submitted.category).copied();
            if let Some(original) = original.filter(|o| *o != id.0) {
                later(2);
                let action = Action::MarkDuplicate { original: smartmap_shared::ids::ReportId(original) };
                act(&past, &admin, id, do_act(action, None), vec![]).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
            }
        }
        if stage >= 97 {
            later(4);
            let to_body = if body.as_str() == "tbilservice" { "gamgeoba-vake" } else { "tbilservice" };
            let action = Action::NotResponsible { to_body: BodyId::parse(to_body).expect("static slug") };
            act(&past, &admin, id, do_act(action, Some("გადაგზავნილია / Re-routed")), vec![])
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        }
        first_of_category.entry(submitted.category.clone()).or_insert(id.0);
    }
    crate::jobs::sweep_overdue(state).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    Ok(printed)
}
