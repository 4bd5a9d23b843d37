//! What the browser UI stands on: the built UI served at `/` with its files (and the
//! server-rendered page while it is not built), the preview of a report before it is sent, and
//! following a report from the browser — the same follows a resident's phone holds.

use chrono::Utc;
use serde_json::json;
use smartmap_shared::role::Role;
use smartmap_shared::sync::{Follow, Mutation, MutationKind};
use smartmap_tests::{Backend, GLDANI, VAKE, instant, report_json, spawn_app, spawn_app_with};
use uuid::Uuid;

smartmap_tests::scenarios!(
    the_built_ui_is_served_at_the_root_with_its_files,
    without_a_built_ui_the_front_page_says_how_to_build_it,
    a_preview_shows_where_a_report_will_go_and_when_it_is_due,
    a_resident_follows_a_report_from_the_browser_and_their_phone_follows_it_too,
);

/// A built UI as Vite leaves it: `index.html`, content-hashed assets, a manifest and an icon.
fn built_ui() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("assets")).unwrap();
    std::fs::write(root.join("index.html"), "<!doctype html><title>ჭკვიანი რუკა</title><div id=app></div>").unwrap();
    std::fs::write(root.join("assets/index-3f2a9c.js"), "console.log('tbilisi')").unwrap();
    std::fs::write(root.join("assets/index-77ab01.css"), "body{margin:0}").unwrap();
    std::fs::write(root.join("assets/noto-sans-georgian-400-b1c2.woff2"), b"wOF2\0\0").unwrap();
    std::fs::write(root.join("manifest.webmanifest"), r#"{"name":"Smart Map"}"#).unwrap();
    std::fs::write(root.join("favicon.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>").unwrap();
    std::fs::write(root.join(".env"), "SECRET=1").unwrap();
    dir
}

async fn the_built_ui_is_served_at_the_root_with_its_files(backend: Backend) {
    let ui = built_ui();
    let ui_dir = ui.path().to_path_buf();
    let app = spawn_app_with(backend, move |s| s.ui_dir = ui_dir).await;

    let index = app.get("/", None).await;
    assert_eq!(index.status, 200);
    assert_eq!(index.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(index.header("cache-control"), Some("no-cache"), "a new build is picked up at once");
    assert!(index.text().contains("<div id=app>"), "{}", index.text());

    for (path, content_type) in [
        ("/assets/index-3f2a9c.js", "text/javascript; charset=utf-8"),
        ("/assets/index-77ab01.css", "text/css; charset=utf-8"),
        ("/assets/noto-sans-georgian-400-b1c2.woff2", "font/woff2"),
    ] {
        let file = app.get(path, None).await;
        assert_eq!(file.status, 200, "{path}");
        assert_eq!(file.header("content-type"), Some(content_type), "{path}");
        assert_eq!(file.header("cache-control"), Some("public, max-age=31536000, immutable"), "{path}");
    }
    let bytes = app.get("/assets/noto-sans-georgian-400-b1c2.woff2", None).await;
    assert_eq!(bytes.body, b"wOF2\0\0");
    for (path, content_type) in
        [("/manifest.webmanifest", "application/manifest+json"), ("/favicon.svg", "image/svg+xml")]
    {
        let file = app.get(path, None).await;
        assert_eq!((file.status, file.header("content-type")), (200, Some(content_type)), "{path}");
        assert_eq!(file.header("cache-control"), Some("no-cache"), "{path}: not content-hashed");
    }
    let head = app.send(app.request(reqwest::Method::HEAD, "/assets/index-3f2a9c.js", None)).await;
    assert_eq!((head.status, head.body.len()), (200, 0));

    // What is not there, hidden, outside the folder or not a GET is the API's JSON 404 (or 405).
    for path in ["/assets/missing-000000.js", "/.env", "/assets/..%2F.env", "/report/42"] {
        app.get(path, None).await.expect_problem(404, "not_found");
    }
    let post = app.send(app.request(reqwest::Method::POST, "/assets/index-3f2a9c.js", None)).await;
    post.expect_problem(404, "not_found");
    // The API's prefixes never reach the UI folder, even for names it holds.
    std::fs::create_dir_all(ui.path().join("api")).unwrap();
    std::fs::write(ui.path().join("api/index.html"), "shadow").unwrap();
    app.get("/api/index.html", None).await.expect_problem(404, "not_found");
    app.get("/api/no/such/route", None).await.expect_problem(404, "not_found");
    app.get("/media/favicon.svg", None).await.expect_problem(404, "not_found");
    app.get("/open311/favicon.svg", None).await.expect_problem(404, "not_found");
    // The API itself is untouched.
    assert_eq!(app.get("/api/health", None).await.expect(200)["status"], "ok");
}

async fn without_a_built_ui_the_front_page_says_how_to_build_it(backend: Backend) {
    let empty = tempfile::tempdir().unwrap();
    // A folder with files but no index.html is not a built UI.
    std::fs::create_dir_all(empty.path().join("assets")).unwrap();
    std::fs::write(empty.path().join("assets/index-3f2a9c.js"), "stale").unwrap();
    let ui_dir = empty.path().to_path_buf();
    let app = spawn_app_with(backend, move |s| s.ui_dir = ui_dir).await;
    let page = app.get("/", None).await;
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    assert!(page.text().contains("cargo xtask ui"), "{}", page.text());
    app.get("/assets/index-3f2a9c.js", None).await.expect_problem(404, "not_found");
    app.get("/favicon.svg", None).await.expect_problem(404, "not_found");
}

async fn a_preview_shows_where_a_report_will_go_and_when_it_is_due(backend: Backend) {
    let app = spawn_app(backend).await;
    let path = |category: &str, (lat, lon): (f64, f64)| format!("/api/preview?category={category}&lat={lat}&lon={lon}");

    // Anyone may ask, and the answer is the phone's own preview type.
    let reply = app.get(&path("park-benches", GLDANI), None).await.expect(200);
    let preview: smartmap_mobile::views::Preview = serde_json::from_value(reply.clone()).unwrap();
    assert_eq!((preview.district.as_str(), preview.body.as_str()), ("gldani", "gamgeoba-gldani"));
    assert_eq!(preview.district_name.en, "Gldani");
    assert!(!preview.body_name.ka.is_empty() && preview.body_name.ka != preview.body);
    assert_eq!(preview.from, smartmap_tests::start());
    assert_eq!(reply["matched"], "district_administration");
    assert_eq!(reply["sla"], json!({ "amount": 10, "unit": "working_days" }));

    // A submission at the same moment lands exactly where the preview said.
    let resident = app.make_user(Role::Resident, None, None).await;
    for (category, at) in [("park-benches", GLDANI), ("cleaning", VAKE), ("street-lighting", GLDANI)] {
        let preview = app.get(&path(category, at), None).await.expect(200);
        let report = app.submit_ok(&resident.token, &report_json(category, at, "Preview check."), &[]).await;
        assert_eq!(report["district"]["id"], preview["district"], "{category}");
        assert_eq!(report["body"]["id"], preview["body"], "{category}");
        assert_eq!(instant(&report["deadline"]), instant(&preview["deadline"]), "{category}");
    }
    // A per-body deadline is previewed as it will apply.
    let admin = app.make_user(Role::Admin, None, None).await;
    let rule = json!({ "sla_amount": 2, "sla_unit": "working_days" });
    app.put_json("/api/admin/sla/park-benches/gamgeoba-gldani", Some(&admin.token), &rule).await.expect(200);
    let overridden = app.get(&path("park-benches", GLDANI), None).await.expect(200);
    assert_eq!(overridden["sla"], json!({ "amount": 2, "unit": "working_days" }));
    assert!(instant(&overridden["deadline"]) < preview.deadline);

    // The errors a submission would get, naming the field.
    app.get(&path("potholes", GLDANI), None).await.expect_field_error(422, "category", "unknown_category");
    app.get(&path("park-benches", (41.55, 45.0)), None).await.expect_field_error(422, "location", "outside_tbilisi");
    app.get(&path("park-benches", (95.0, 44.8)), None).await.expect_field_error(422, "location", "invalid_coordinates");
    let both = app.get(&path("potholes", (41.55, 45.0)), None).await.expect_problem(422, "invalid_input");
    assert_eq!(both["errors"].as_array().unwrap().len(), 2, "{both}");
    app.get("/api/preview?category=cleaning&lat=41.8", None).await.expect_field_error(422, "lon", "invalid_value");
    app.get("/api/preview?category=cleaning&lat=north&lon=44.8", None).await.expect_problem(422, "invalid_input");
}

async fn a_resident_follows_a_report_from_the_browser_and_their_phone_follows_it_too(backend: Backend) {
    let app = spawn_app(backend).await;
    let reporter = app.make_user(Role::Resident, None, None).await;
    let neighbour = app.make_user(Role::Resident, None, None).await;
    let report = app.submit_ok(&reporter.token, &report_json("cleaning", GLDANI, "Rubbish."), &[]).await;
    let id = report["id"].as_str().unwrap().to_owned();
    let follow_path = format!("/api/reports/{id}/follow");
    let detail = |token: Option<String>| {
        let app = &app;
        let path = format!("/api/reports/{id}");
        async move { app.get(&path, token.as_deref()).await.expect(200) }
    };

    // Anonymous visitors see the public view unchanged; signed-in ones whether they follow.
    assert_eq!(detail(None).await.get("following"), None);
    assert_eq!(detail(Some(neighbour.token.clone())).await["following"], false);
    let anonymous = app.send(app.request(reqwest::Method::POST, &follow_path, None)).await;
    anonymous.expect_problem(401, "unauthenticated");

    // Following twice is following once.
    for _ in 0..2 {
        let reply = app.send(app.request(reqwest::Method::POST, &follow_path, Some(&neighbour.token))).await;
        assert_eq!(reply.expect(200), json!({ "report_id": id, "following": true }));
    }
    assert_eq!(detail(Some(neighbour.token.clone())).await["following"], true);
    assert_eq!(detail(Some(reporter.token.clone())).await["following"], false, "follows are per account");

    // The neighbour's phone holds the report now: it is in their snapshot, marked followed.
    let snapshot = app.get("/api/sync/snapshot", Some(&neighbour.token)).await.expect(200);
    let held = snapshot["entities"].as_array().unwrap().iter().find(|e| e["entity"] == "report" && e["id"] == id);
    assert_eq!(held.map(|e| e["data"]["following"].clone()), Some(json!(true)), "{snapshot}");

    // Unfollowing (twice) from the browser; then the phone follows again through its outbox,
    // and the browser sees it.
    for _ in 0..2 {
        let reply = app.send(app.request(reqwest::Method::DELETE, &follow_path, Some(&neighbour.token))).await;
        assert_eq!(reply.expect(200)["following"], false);
    }
    assert_eq!(detail(Some(neighbour.token.clone())).await["following"], false);
    let device = Uuid::now_v7();
    let payload = Follow { report_id: serde_json::from_value(json!(id)).unwrap(), follow: true };
    let mutation = Mutation::new(Uuid::now_v7(), device, 1, MutationKind::Follow, &payload, Utc::now());
    let pushed = app
        .post_json("/api/sync/push", Some(&neighbour.token), &json!({ "device_id": device, "mutations": [mutation] }))
        .await
        .expect(200);
    assert_eq!(pushed["results"][0]["outcome"], "applied", "{pushed}");
    assert_eq!(detail(Some(neighbour.token.clone())).await["following"], true);

    // Unknown, malformed and hidden reports are not found.
    let unknown = "/api/reports/00000000-0000-0000-0000-000000000000/follow";
    app.send(app.request(reqwest::Method::POST, unknown, Some(&neighbour.token)))
        .await
        .expect_problem(404, "not_found");
    let malformed = "/api/reports/not-a-uuid/follow";
    app.send(app.request(reqwest::Method::DELETE, malformed, Some(&neighbour.token)))
        .await
        .expect_problem(404, "not_found");
    let moderator = app.make_user(Role::Moderator, None, None).await;
    let hide = json!({ "reason": "Personal data in the description." });
    app.post_json(&format!("/api/moderation/reports/{id}/hide"), Some(&moderator.token), &hide).await.expect(200);
    app.send(app.request(reqwest::Method::POST, &follow_path, Some(&neighbour.token)))
        .await
        .expect_problem(404, "not_found");
}
