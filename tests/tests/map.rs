//! The public map: reports all over the city as GeoJSON, filtered by box, category, status and
//! date, paged, and clustered when zoomed out; reports a moderator hid vanish from it (and from
//! their public page) while moderators and the staff working them still see them.

use chrono::Duration;
use serde_json::{Value, json};
use smartmap_shared::role::Role;
use smartmap_tests::{Account, Backend, DISTRICT_SEEDS, TestApp, report_json, spawn_app};
use std::collections::BTreeSet;

smartmap_tests::scenarios!(
    the_map_filters_by_box_category_status_and_date,
    the_map_pages_through_every_report_once,
    zoomed_out_the_map_shows_clusters_that_add_up,
    a_hidden_report_leaves_the_public_map_but_not_the_moderators_view,
    bad_map_queries_name_the_parameter,
);

const CATEGORIES: [&str; 4] = ["street-lighting", "cleaning", "park-benches", "trees-greenery"];

/// One report put on the map by [`city`].
#[derive(Debug, Clone)]
struct Pin {
    id: String,
    category: &'static str,
    lat: f64,
    lon: f64,
    /// 0, 1 or 2: submitted on 10, 11 or 12 March at 09:00 Tbilisi time.
    day: usize,
}

/// Thirty reports: on each of three days, one in every district (near its seed point), the
/// categories taking turns. All of a day's reports arrive at the same instant.
async fn city(app: &TestApp, resident: &Account) -> Vec<Pin> {
    let mut pins = Vec::new();
    for day in 0..3 {
        for (i, (district, lat, lon)) in DISTRICT_SEEDS.iter().enumerate() {
            let category = CATEGORIES[(i + day) % CATEGORIES.len()];
            let (lat, lon) = (lat + 0.001 * day as f64, lon - 0.001 * day as f64);
            let report = report_json(category, (lat, lon), &format!("Problem {day}-{i} in {district}."));
            let stored = app.submit_ok(&resident.token, &report, &[]).await;
            assert_eq!(stored["district"]["id"], *district, "the pin must lie in {district}");
            pins.push(Pin { id: stored["id"].as_str().unwrap().to_owned(), category, lat, lon, day });
        }
        app.advance(Duration::days(1));
    }
    pins
}

fn set<'a>(pins: impl IntoIterator<Item = &'a Pin>) -> BTreeSet<String> {
    pins.into_iter().map(|p| p.id.clone()).collect()
}

/// The ids on the map for `query` (all on one page of points).
async fn on_map(app: &TestApp, query: &str) -> BTreeSet<String> {
    let map = app.get(&format!("/api/map/reports?page_size=1000&{query}"), None).await.expect(200);
    assert_eq!(map["clustered"], false, "{query}");
    assert_eq!(map["next_page"], Value::Null, "{query}");
    let features = map["features"].as_array().expect("features");
    let ids: BTreeSet<String> = features.iter().map(|f| f["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), features.len(), "{query}: a report appears twice");
    ids
}

async fn the_map_filters_by_box_category_status_and_date(backend: Backend) {
    let app = spawn_app(backend).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let admin = app.make_user(Role::Admin, None, None).await;
    let pins = city(&app, &resident).await;
    assert_eq!(on_map(&app, "").await, set(&pins), "unfiltered, the map shows every report");

    // A box around Gldani and one around the south-west (Vake, Mtatsminda).
    for (w, s, e, n) in [(44.82, 41.79, 44.84, 41.81), (44.70, 41.66, 44.76, 41.71)] {
        let inside = set(pins.iter().filter(|p| (w..=e).contains(&p.lon) && (s..=n).contains(&p.lat)));
        assert!(!inside.is_empty());
        assert_eq!(on_map(&app, &format!("bbox={w},{s},{e},{n}")).await, inside, "bbox {w},{s},{e},{n}");
    }

    assert_eq!(on_map(&app, "category=cleaning").await, set(pins.iter().filter(|p| p.category == "cleaning")));
    assert_eq!(
        on_map(&app, "category=cleaning,park-benches").await,
        set(pins.iter().filter(|p| matches!(p.category, "cleaning" | "park-benches")))
    );

    // Acknowledge four reports: the status filter finds exactly those.
    let acked: Vec<&Pin> = pins.iter().step_by(7).collect();
    for pin in &acked {
        app.act_ok(&admin.token, &pin.id, &json!({ "action": "acknowledge" })).await;
    }
    assert_eq!(on_map(&app, "status=acknowledged").await, set(acked.iter().copied()));
    assert_eq!(on_map(&app, "status=routed").await.len(), pins.len() - acked.len());
    assert_eq!(on_map(&app, "status=routed,acknowledged").await, set(&pins));
    assert!(on_map(&app, "status=fixed").await.is_empty());

    // Dates are Tbilisi days, `to` inclusive; instants are taken as they are.
    let on_day = |days: &[usize]| set(pins.iter().filter(|p| days.contains(&p.day)));
    assert_eq!(on_map(&app, "from=2026-03-11&to=2026-03-11").await, on_day(&[1]));
    assert_eq!(on_map(&app, "from=2026-03-11").await, on_day(&[1, 2]));
    assert_eq!(on_map(&app, "to=2026-03-10").await, on_day(&[0]));
    assert_eq!(on_map(&app, "from=2026-03-11T05:00:00Z&to=2026-03-12T04:59:59Z").await, on_day(&[1]));

    // Filters combine.
    let combined = set(pins.iter().filter(|p| {
        p.category == "park-benches" && p.day >= 1 && (41.74..=41.84).contains(&p.lat) && (44.6..=45.0).contains(&p.lon)
    }));
    assert_eq!(on_map(&app, "category=park-benches&from=2026-03-11&bbox=44.6,41.74,45.0,41.84").await, combined);
}

async fn the_map_pages_through_every_report_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let pins = city(&app, &resident).await;

    let mut seen = Vec::new();
    let mut page = Some(1);
    let mut pages = 0;
    while let Some(n) = page {
        let map = app.get(&format!("/api/map/reports?page_size=7&page={n}"), None).await.expect(200);
        assert_eq!((map["page"].as_u64(), map["page_size"].as_u64()), (Some(n), Some(7)));
        let features = map["features"].as_array().unwrap();
        assert!(features.len() <= 7);
        seen.extend(features.iter().map(|f| f["id"].as_str().unwrap().to_owned()));
        page = map["next_page"].as_u64();
        pages += 1;
        assert!(pages <= 10, "paging does not end");
    }
    assert_eq!(pages, 5, "30 reports in pages of 7");
    assert_eq!(seen.len(), pins.len(), "every report exactly once");
    assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), set(&pins));
    assert_eq!(seen[0], pins.last().unwrap().id, "the newest first");
    let past_the_end = app.get("/api/map/reports?page_size=7&page=6", None).await.expect(200);
    assert_eq!(past_the_end["features"], json!([]));
}

async fn zoomed_out_the_map_shows_clusters_that_add_up(backend: Backend) {
    let app = spawn_app(backend).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let pins = city(&app, &resident).await;

    let total = |map: &Value| -> u64 {
        map["features"].as_array().unwrap().iter().map(|f| f["properties"]["count"].as_u64().unwrap()).sum()
    };
    let map = app.get("/api/map/reports?zoom=10", None).await.expect(200);
    assert_eq!(map["clustered"], true);
    let clusters = map["features"].as_array().unwrap();
    assert!(clusters.len() > 1 && clusters.len() < pins.len(), "{} clusters", clusters.len());
    for c in clusters {
        assert_eq!(c["properties"]["cluster"], true);
        let [lon, lat] =
            [c["geometry"]["coordinates"][0].as_f64().unwrap(), c["geometry"]["coordinates"][1].as_f64().unwrap()];
        assert!((44.59..=45.02).contains(&lon) && (41.61..=41.85).contains(&lat), "cluster at {lon},{lat}");
    }
    assert_eq!(total(&map), pins.len() as u64);

    let lighting = app.get("/api/map/reports?zoom=10&category=street-lighting", None).await.expect(200);
    assert_eq!(total(&lighting), pins.iter().filter(|p| p.category == "street-lighting").count() as u64);
    let gldani = app.get("/api/map/reports?zoom=12&bbox=44.82,41.79,44.84,41.81", None).await.expect(200);
    assert_eq!(gldani["clustered"], true);
    assert_eq!(total(&gldani), 3);
    // From the configured threshold up, points again.
    assert_eq!(app.get("/api/map/reports?zoom=15", None).await.expect(200)["clustered"], false);
}

async fn a_hidden_report_leaves_the_public_map_but_not_the_moderators_view(backend: Backend) {
    let app = spawn_app(backend).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let moderator = app.make_user(Role::Moderator, None, None).await;
    let gldani = app.make_user(Role::DistrictStaff, Some("gldani"), None).await;
    let vake = app.make_user(Role::DistrictStaff, Some("vake"), None).await;
    let pins = city(&app, &resident).await;
    let hidden = pins.iter().find(|p| p.lat > 41.80 && p.lon > 44.82).expect("a Gldani pin").id.clone();
    let path = format!("/api/reports/{hidden}");

    let reason = json!({ "reason": "The photo shows a neighbour's face." });
    app.post_json(&format!("/api/moderation/reports/{hidden}/hide"), Some(&moderator.token), &reason).await.expect(200);

    // Gone for the public: the map, the clusters and the report's page.
    let visible = on_map(&app, "").await;
    assert!(!visible.contains(&hidden));
    assert_eq!(visible.len(), pins.len() - 1);
    let clusters = app.get("/api/map/reports?zoom=10", None).await.expect(200);
    let clustered: u64 =
        clusters["features"].as_array().unwrap().iter().map(|f| f["properties"]["count"].as_u64().unwrap()).sum();
    assert_eq!(clustered, pins.len() as u64 - 1);
    app.get(&path, None).await.expect_problem(404, "not_found");
    app.get(&path, Some(&vake.token)).await.expect_problem(404, "not_found");

    // Kept for those who look after it.
    let seen = app.get(&path, Some(&moderator.token)).await.expect(200);
    assert_eq!(seen["hidden"], true);
    let seen = app.get(&path, Some(&gldani.token)).await.expect(200);
    assert_eq!(seen["hidden"], true);
    // The hiding and its reason are not on the public timeline, even once shown again.
    app.post_json(
        &format!("/api/moderation/reports/{hidden}/unhide"),
        Some(&moderator.token),
        &json!({ "reason": "Blurred." }),
    )
    .await
    .expect(200);
    assert!(on_map(&app, "").await.contains(&hidden));
    let public = app.public_report(&hidden).await;
    assert_eq!(public["timeline"].as_array().unwrap().len(), 2, "{public}");
    assert!(!public.to_string().contains("neighbour's face"));
}

async fn bad_map_queries_name_the_parameter(backend: Backend) {
    let app = spawn_app(backend).await;
    for (query, field, code) in [
        ("bbox=44.7,41.7,44.8", "bbox", "invalid_bbox"),
        ("bbox=44.8,41.7,44.7,41.8", "bbox", "invalid_bbox"),
        ("category=potholes", "category", "unknown_category"),
        ("status=lost", "status", "unknown_status"),
        ("from=yesterday", "from", "invalid_date"),
        ("from=2026-03-12&to=2026-03-11", "to", "empty_range"),
        ("page_size=0", "page_size", "out_of_range"),
        ("page_size=1001", "page_size", "out_of_range"),
        ("page=0", "page", "out_of_range"),
        ("zoom=23", "zoom", "out_of_range"),
        ("zoom=many", "zoom", "invalid_value"),
        ("colour=red", "colour", "invalid_value"),
    ] {
        app.get(&format!("/api/map/reports?{query}"), None).await.expect_field_error(422, field, code);
    }
}
