//! The life of a Fix-Tbilisi report, end to end over HTTP: a resident reports a broken bench in
//! Gldani; it is routed to the Gldani administration with a ten-working-day deadline; district
//! staff acknowledge it, put a crew on it and answer from a template; the crew closes it with a
//! proof photo; the resident disputes the fix and it is reopened with a fresh deadline; a late
//! dispute is refused. Alongside: duplicates, "no action" with a reason, re-routing to another
//! body, and retried submissions stored once. The public sees all of it — never who reported.

use serde_json::{Value, json};
use smartmap_shared::role::Role;
use smartmap_tests::photos::photo;
use smartmap_tests::{Account, Backend, GLDANI, TestApp, instant, report_json, spawn_app, tbilisi};

smartmap_tests::scenarios!(
    a_bench_report_goes_from_submission_to_fixed_to_reopened,
    a_late_dispute_is_refused_and_changes_nothing,
    a_report_is_closed_as_a_duplicate_or_with_no_action_and_a_reason,
    a_body_that_is_not_responsible_sends_the_report_on_with_a_fresh_deadline,
    a_retried_submission_is_stored_once,
    a_retry_racing_the_first_submission_is_stored_once,
    staff_acting_at_the_same_moment_move_the_report_once,
    staff_see_who_reported_unless_the_reporter_hid_their_name,
);

/// Asserts that nothing in `text` identifies `who`: not the e-mail, not the name, not the id.
#[track_caller]
fn assert_anonymous(text: &str, who: &Account, context: &str) {
    let id = who.id.0;
    for needle in [who.email.clone(), who.display_name.clone(), id.hyphenated().to_string(), id.simple().to_string()] {
        assert!(!text.contains(&needle), "{context} reveals {needle:?} of the {}: {text}", who.role.as_str());
    }
}

/// The `action` of each timeline entry, in order.
fn timeline_actions(report: &Value) -> Vec<String> {
    report["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

/// Entries are in time order.
#[track_caller]
fn assert_chronological(report: &Value) {
    let times: Vec<_> = report["timeline"].as_array().unwrap().iter().map(|e| instant(&e["at"])).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "timeline out of order: {times:?}");
}

/// Fetches every rendition of every photo in `list` and checks it is a cacheable JPEG.
async fn assert_photos_served(app: &TestApp, list: &Value) {
    for p in list.as_array().expect("a photo list") {
        for key in ["url", "thumb_url"] {
            let url = p[key].as_str().expect("a photo URL");
            let reply = app.get(url, None).await;
            assert_eq!(reply.status, 200, "GET {url}");
            assert_eq!(reply.header("content-type"), Some("image/jpeg"), "GET {url}");
            let cache = reply.header("cache-control").unwrap_or_default();
            assert!(cache.contains("immutable"), "GET {url}: Cache-Control {cache:?}");
            image::load_from_memory_with_format(&reply.body, image::ImageFormat::Jpeg)
                .unwrap_or_else(|e| panic!("GET {url} is not a JPEG: {e}"));
        }
    }
}

/// The cast of a Gldani case: a resident, Gldani district staff, a crew of the Gldani
/// administration, and an admin.
struct Gldani {
    resident: Account,
    staff: Account,
    crew: Account,
    admin: Account,
}

async fn gldani_cast(app: &TestApp) -> Gldani {
    Gldani {
        resident: app.make_user(Role::Resident, None, None).await,
        staff: app.make_user(Role::DistrictStaff, Some("gldani"), None).await,
        crew: app.make_user(Role::FieldCrew, None, Some("gamgeoba-gldani")).await,
        admin: app.make_user(Role::Admin, None, None).await,
    }
}

fn bench_report(description: &str) -> Value {
    report_json("park-benches", GLDANI, description)
}

async fn a_bench_report_goes_from_submission_to_fixed_to_reopened(backend: Backend) {
    let app = spawn_app(backend).await;
    let cast = gldani_cast(&app).await;
    let client_id = uuid::Uuid::now_v7();

    // Tuesday 09:00: a resident reports a broken bench, with two photos.
    let mut report = bench_report("The bench by the fountain is broken.");
    report["id"] = json!(client_id);
    report["address"] = json!("Gldani, micro-district 3");
    let submitted = app.submit_ok(&cast.resident.token, &report, &[photo(1), photo(2)]).await;
    let id = submitted["id"].as_str().unwrap().to_owned();
    assert_eq!(id, client_id.to_string(), "the client's id is kept");
    assert_eq!(submitted["status"], "routed");
    assert_eq!(submitted["district"]["id"], "gldani");
    assert_eq!(submitted["body"]["id"], "gamgeoba-gldani", "benches go to the district administration");
    assert_eq!(submitted["overdue"], false);
    // Ten working days after Tuesday 10 March (the day of arrival does not count): 11, 12, 13,
    // 16, 17, 18, 19, 20, 23, 24 March — due Tuesday 24 March at 18:00 Tbilisi time.
    assert_eq!(instant(&submitted["deadline"]), tbilisi(2026, 3, 24, 18, 0));
    assert_eq!(timeline_actions(&submitted), ["submit", "route"]);

    // The public sees the report with its photos, but not who sent it.
    let public = app.public_report(&id).await;
    assert_eq!(public["photos"].as_array().unwrap().len(), 2);
    assert_eq!(public["proof_photos"].as_array().unwrap().len(), 0);
    assert_photos_served(&app, &public["photos"]).await;
    assert_anonymous(&public.to_string(), &cast.resident, "the public detail");
    let neighbour = app.make_user(Role::Resident, None, None).await;
    let seen_by_neighbour = app.get(&format!("/api/reports/{id}"), Some(&neighbour.token)).await.expect(200);
    assert_anonymous(&seen_by_neighbour.to_string(), &cast.resident, "the detail another resident sees");
    let map = app.get("/api/map/reports", None).await.expect(200);
    assert_anonymous(&map.to_string(), &cast.resident, "the map");

    // Gldani staff find it in their queue and work it.
    let queue = app.get("/api/staff/queue", Some(&cast.staff.token)).await.expect(200);
    assert!(queue["items"].as_array().unwrap().iter().any(|r| r["id"] == id.as_str()), "queue: {queue}");
    app.advance(chrono::Duration::hours(1));
    let acked = app.act_ok(&cast.staff.token, &id, &json!({ "action": "acknowledge", "internal_note": "Seen." })).await;
    assert_eq!(acked["status"], "acknowledged");
    let crews = app.get("/api/staff/crews", Some(&cast.staff.token)).await.expect(200);
    assert!(crews["items"].as_array().unwrap().iter().any(|c| c["id"] == json!(cast.crew.id)), "crews: {crews}");
    app.advance(chrono::Duration::hours(1));
    let assigned = app.act_ok(&cast.staff.token, &id, &json!({ "action": "assign_crew", "crew": cast.crew.id })).await;
    assert_eq!(assigned["status"], "in_progress");

    // An answer from a template the admin wrote.
    let template = json!({
        "category": "park-benches",
        "title_ka": "სკამი შეკეთდება",
        "title_en": "Bench to be repaired",
        "body_ka": "სკამი შეკეთდება ამ კვირაში.",
        "body_en": "The bench will be repaired this week.",
    });
    app.put_json("/api/admin/templates/bench-this-week", Some(&cast.admin.token), &template).await.expect(200);
    let templates = app.get("/api/staff/templates?category=park-benches", Some(&cast.staff.token)).await.expect(200);
    assert!(templates["items"].as_array().unwrap().iter().any(|t| t["id"] == "bench-this-week"), "{templates}");
    app.advance(chrono::Duration::hours(1));
    let responded =
        app.act_ok(&cast.staff.token, &id, &json!({ "action": "respond", "template": "bench-this-week" })).await;
    assert_eq!(responded["status"], "in_progress", "a response does not move the report");

    // The crew sees the ticket and closes it on Thursday with a proof photo.
    let tickets = app.get("/api/crew/tickets", Some(&cast.crew.token)).await.expect(200);
    assert!(tickets["items"].as_array().unwrap().iter().any(|r| r["id"] == id.as_str()), "tickets: {tickets}");
    app.clock.set(tbilisi(2026, 3, 12, 12, 0));
    let notes = json!({ "public_note": "The bench was repaired.", "internal_note": "Two new slats." });
    let fixed = app.close_with(&cast.crew.token, &id, Some(&notes), &[photo(3)]).await.expect(200);
    assert_eq!(fixed["status"], "fixed");
    assert_eq!(instant(&fixed["closed_at"]), tbilisi(2026, 3, 12, 12, 0));

    // The public detail tells the whole story, in order, still without the reporter — and
    // without staff names, the crew or internal notes.
    let public = app.public_report(&id).await;
    assert_eq!(public["status"], "fixed");
    assert_eq!(public["photos"].as_array().unwrap().len(), 2);
    assert_eq!(public["proof_photos"].as_array().unwrap().len(), 1);
    assert_photos_served(&app, &public["proof_photos"]).await;
    assert_eq!(timeline_actions(&public), ["submit", "route", "acknowledge", "assign_crew", "respond", "mark_fixed"]);
    assert_chronological(&public);
    let timeline = public["timeline"].as_array().unwrap();
    assert_eq!(timeline[4]["public_note"], "სკამი შეკეთდება ამ კვირაში.", "the template's text is the response");
    assert_eq!(timeline[5]["public_note"], "The bench was repaired.");
    assert_eq!(timeline[5]["actor_role"], "field_crew");
    let text = public.to_string();
    assert_anonymous(&text, &cast.resident, "the public detail of a fixed report");
    for staff in [&cast.staff, &cast.crew] {
        assert_anonymous(&text, staff, "the public detail of a fixed report");
    }
    for internal in ["Seen.", "Two new slats."] {
        assert!(!text.contains(internal), "the public sees the internal note {internal:?}");
    }
    assert_eq!(app.get("/api/crew/tickets", Some(&cast.crew.token)).await.expect(200)["items"], json!([]));

    // Monday: the bench is broken again; the reporter disputes the fix.
    app.clock.set(tbilisi(2026, 3, 16, 10, 0));
    let reopened = app.dispute(&cast.resident.token, &id, "The bench is still broken.").await.expect(200);
    assert_eq!(reopened["status"], "reopened");
    assert_eq!(reopened["closed_at"], Value::Null);
    // A fresh ten working days from Monday 16 March: 17, 18, 19, 20, 23, 24, 25, 26, 27, 30.
    assert_eq!(instant(&reopened["deadline"]), tbilisi(2026, 3, 30, 18, 0));
    let public = app.public_report(&id).await;
    assert_eq!(public["status"], "reopened");
    let last = public["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["action"].as_str(), last["public_note"].as_str()),
        (Some("dispute"), Some("The bench is still broken."))
    );
    assert_eq!(last["actor_role"], "resident");
    assert_anonymous(&public.to_string(), &cast.resident, "the public detail of a disputed report");
    let queue = app.get("/api/staff/queue", Some(&cast.staff.token)).await.expect(200);
    assert!(
        queue["items"].as_array().unwrap().iter().any(|r| r["id"] == id.as_str()),
        "reopened work is back in the queue"
    );
}

async fn a_late_dispute_is_refused_and_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let cast = gldani_cast(&app).await;
    let id = app.submit_ok(&cast.resident.token, &bench_report("A bench is missing."), &[photo(4)]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.start_work(&cast.staff, &id, &cast.crew).await;
    app.clock.set(tbilisi(2026, 3, 11, 15, 0));
    app.close(&cast.crew.token, &id, &[photo(5)]).await.expect(200);

    // Fifteen days later: past the fourteen-day window.
    app.advance(chrono::Duration::days(15));
    let before = app.counts().await;
    let refused = app.dispute(&cast.resident.token, &id, "It was never fixed.").await;
    refused.expect_problem(409, "dispute_window_closed");
    assert_eq!(app.public_report(&id).await["status"], "fixed");
    assert_eq!(app.counts().await, before, "a refused dispute stores nothing");
}

async fn a_report_is_closed_as_a_duplicate_or_with_no_action_and_a_reason(backend: Backend) {
    let app = spawn_app(backend).await;
    let cast = gldani_cast(&app).await;
    let submit = |d: &'static str| async {
        app.submit_ok(&cast.resident.token, &bench_report(d), &[]).await["id"].as_str().unwrap().to_owned()
    };
    let original = submit("The bench by the school is broken.").await;
    let copy = submit("Broken bench near the school.").await;
    let unfixable = submit("Please put a bench in my yard.").await;

    // A duplicate is closed and linked to the original, which stays open.
    let dup = app.act_ok(&cast.staff.token, &copy, &json!({ "action": "mark_duplicate", "original": original })).await;
    assert_eq!(dup["status"], "duplicate");
    let public = app.public_report(&copy).await;
    assert_eq!(public["duplicate_of"], original.as_str());
    assert!(public["closed_at"].is_string());
    assert_eq!(app.public_report(&original).await["status"], "routed");
    // Linking to a duplicate is refused: link to its original instead.
    app.act(&cast.staff.token, &unfixable, &json!({ "action": "mark_duplicate", "original": copy }))
        .await
        .expect_field_error(422, "original", "original_is_duplicate");
    app.act(&cast.staff.token, &original, &json!({ "action": "mark_duplicate", "original": original }))
        .await
        .expect_field_error(422, "original", "self_duplicate");

    // "No action" needs a reason the public can read.
    app.act(&cast.staff.token, &unfixable, &json!({ "action": "no_action" }))
        .await
        .expect_field_error(422, "reason", "required");
    app.act(&cast.staff.token, &unfixable, &json!({ "action": "no_action", "reason": "   " }))
        .await
        .expect_field_error(422, "reason", "reason_required");
    assert_eq!(app.public_report(&unfixable).await["status"], "routed", "refused actions change nothing");
    let reason = "Private yards are not municipal property.";
    app.act_ok(&cast.staff.token, &unfixable, &json!({ "action": "no_action", "reason": reason })).await;
    let public = app.public_report(&unfixable).await;
    assert_eq!(public["status"], "no_action");
    let last = public["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["action"].as_str(), last["public_note"].as_str()), (Some("no_action"), Some(reason)));
}

async fn a_body_that_is_not_responsible_sends_the_report_on_with_a_fresh_deadline(backend: Backend) {
    let app = spawn_app(backend).await;
    let cast = gldani_cast(&app).await;
    let tbilservice = app.make_user(Role::DepartmentStaff, None, Some("tbilservice")).await;
    let id = app.submit_ok(&cast.resident.token, &bench_report("The bench in the park is broken."), &[]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        app.get("/api/staff/queue", Some(&tbilservice.token)).await.expect(200)["items"].as_array().unwrap().is_empty()
    );

    // Thursday: Gldani says the park is Tbilservice's.
    app.clock.set(tbilisi(2026, 3, 12, 10, 0));
    app.act(&cast.staff.token, &id, &json!({ "action": "not_responsible", "to_body": "gamgeoba-gldani" }))
        .await
        .expect_field_error(422, "to_body", "same_body");
    app.act(&cast.staff.token, &id, &json!({ "action": "not_responsible", "to_body": "no-such-body" }))
        .await
        .expect_field_error(422, "to_body", "unknown_body");
    let moved = app
        .act_ok(&cast.staff.token, &id, &json!({ "action": "not_responsible", "to_body": "tbilservice", "public_note": "Tbilservice maintains this park." }))
        .await;
    assert_eq!(moved["status"], "routed");
    assert_eq!(moved["body"]["id"], "tbilservice");
    // The clock restarts on Thursday 12 March: 13, 16, 17, 18, 19, 20, 23, 24, 25, 26.
    assert_eq!(instant(&moved["deadline"]), tbilisi(2026, 3, 26, 18, 0));
    let public = app.public_report(&id).await;
    let last = public["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "not_responsible");
    assert_eq!(last["details"]["body"], "tbilservice");
    assert_eq!(last["public_note"], "Tbilservice maintains this park.");

    // Now it is Tbilservice's to work.
    let queue = app.get("/api/staff/queue", Some(&tbilservice.token)).await.expect(200);
    assert!(queue["items"].as_array().unwrap().iter().any(|r| r["id"] == id.as_str()), "queue: {queue}");
    let acked = app.act_ok(&tbilservice.token, &id, &json!({ "action": "acknowledge" })).await;
    assert_eq!(acked["status"], "acknowledged");
}

async fn a_retried_submission_is_stored_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let mut report = bench_report("The bench has no backrest.");
    report["id"] = json!(uuid::Uuid::now_v7());
    let first = app.submit(&resident.token, &report, &[photo(6)]).await.expect(201);
    let stored = app.counts().await;

    // The phone lost the answer and sends the very same thing again.
    let again = app.submit(&resident.token, &report, &[photo(6)]).await.expect(200);
    assert_eq!(
        (&again["id"], &again["number"], &again["deadline"]),
        (&first["id"], &first["number"], &first["deadline"])
    );
    assert_eq!(again["photos"].as_array().unwrap().len(), 1);
    assert_eq!(app.my_report_count(&resident.token).await, 1);
    assert_eq!(app.counts().await, stored, "a retry stores nothing new");

    // The same id with anything else is a conflict, not a second report.
    let mut changed = report.clone();
    changed["description"] = json!("A different problem altogether.");
    app.submit(&resident.token, &changed, &[photo(6)]).await.expect_problem(409, "id_conflict");
    app.submit(&resident.token, &report, &[photo(7)]).await.expect_problem(409, "id_conflict");
    let stranger = app.make_user(Role::Resident, None, None).await;
    app.submit(&stranger.token, &report, &[photo(6)]).await.expect_problem(409, "id_conflict");
    assert_eq!(app.my_report_count(&resident.token).await, 1);
    assert_eq!(app.my_report_count(&stranger.token).await, 0);
    let after = app.counts().await;
    assert_eq!(after.rows, stored.rows, "conflicting retries store no rows");
}

async fn staff_see_who_reported_unless_the_reporter_hid_their_name(backend: Backend) {
    let app = spawn_app(backend).await;
    let cast = gldani_cast(&app).await;
    let named = app.submit_ok(&cast.resident.token, &bench_report("Broken bench."), &[]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut hidden = bench_report("Another broken bench.");
    hidden["hide_name"] = json!(true);
    let hidden = app.submit_ok(&cast.resident.token, &hidden, &[]).await["id"].as_str().unwrap().to_owned();

    let view = app.get(&format!("/api/reports/{named}"), Some(&cast.staff.token)).await.expect(200);
    assert_eq!(view["reporter"]["name"], cast.resident.display_name.as_str());
    let view = app.get(&format!("/api/reports/{hidden}"), Some(&cast.staff.token)).await.expect(200);
    assert_eq!(view["reporter"]["hidden"], true);
    assert!(!view.to_string().contains(&cast.resident.display_name), "hidden name shown to staff: {view}");
    assert_eq!(app.public_report(&named).await.get("reporter"), None, "the public view has no reporter at all");
}

async fn a_retry_racing_the_first_submission_is_stored_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let mut report = bench_report("The bench is gone.");
    report["id"] = json!(uuid::Uuid::now_v7());
    // A flaky connection: the phone resends before the first attempt was answered.
    let photos = [photo(8)];
    let attempts = (0..3).map(|_| app.submit(&resident.token, &report, &photos));
    let mut statuses: Vec<u16> = futures::future::join_all(attempts).await.iter().map(|r| r.status).collect();
    statuses.sort();
    assert_eq!(statuses, [200, 200, 201], "one acceptance, the rest replays");
    assert_eq!(app.my_report_count(&resident.token).await, 1);
    let rows = app.counts().await.rows;
    assert_eq!(rows[0], ("reports", 1));
    assert_eq!(rows[1], ("report_photos", 1));
    assert_eq!(rows[2], ("report_events", 2));
}

async fn staff_acting_at_the_same_moment_move_the_report_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let cast = gldani_cast(&app).await;
    let id = app.submit_ok(&cast.resident.token, &bench_report("Broken bench."), &[]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Two staff members (and the admin, twice) press "acknowledge" at once.
    let ack = json!({ "action": "acknowledge" });
    let acks = [&cast.staff, &cast.admin, &cast.staff, &cast.admin].map(|who| app.act(&who.token, &id, &ack));
    let replies = futures::future::join_all(acks).await;
    let won: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(won.len(), 1, "exactly one acknowledgement: {:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    for lost in replies.iter().filter(|r| r.status != 200) {
        let problem = lost.expect_problem(409, lost.json()["code"].as_str().unwrap_or_default());
        assert!(matches!(problem["code"].as_str(), Some("illegal_transition" | "changed_meanwhile")), "{problem}");
    }
    let public = app.public_report(&id).await;
    assert_eq!(timeline_actions(&public), ["submit", "route", "acknowledge"]);
}
