//! Bad input, and what the server owes the sender: a 4xx RFC 9457 `application/problem+json`
//! naming the field or the rule — and a database without a trace of the attempt. Every refused
//! request here is checked against the row counts of the report tables (and, for photos, the
//! media folder) taken just before it.

use serde_json::{Value, json};
use smartmap_shared::ids::ReportId;
use smartmap_shared::role::Role;
use smartmap_tests::photos::{jpeg_bomb, large_jpeg, photo, png_bomb};
use smartmap_tests::{Account, Backend, GLDANI, Reply, TestApp, report_json, spawn_app, spawn_app_with};

smartmap_tests::scenarios!(
    a_location_outside_tbilisi_or_off_the_globe_is_refused,
    an_unknown_category_is_refused,
    a_photo_that_is_not_an_image_is_refused,
    an_oversized_photo_is_refused,
    decompression_bombs_are_refused_from_their_headers,
    too_many_photos_are_refused,
    malformed_json_is_a_bad_request,
    a_one_megabyte_description_is_refused,
    a_submission_without_its_report_part_is_refused,
    an_illegal_transition_is_a_conflict_naming_the_rule,
    fixed_without_a_proof_photo_is_refused,
    staff_acting_outside_their_district_are_forbidden,
    unknown_fields_in_a_submission_are_named,
    missing_or_mistyped_fields_in_a_submission_are_named,
    unknown_fields_in_an_action_are_named,
    unknown_fields_in_closing_notes_are_named,
    unknown_fields_in_a_dispute_are_named,
    a_broken_second_photo_after_a_good_first_stores_nothing,
);

/// A bench report in Gldani with a client id, so its absence can be checked by id.
fn report() -> (Value, ReportId) {
    let id = uuid::Uuid::now_v7();
    let mut r = report_json("park-benches", GLDANI, "The bench is broken.");
    r["id"] = json!(id);
    (r, ReportId(id))
}

/// Submits something that must be refused; asserts it left nothing behind, rows or blobs.
async fn refused(app: &TestApp, who: &Account, report: &Value, photos: &[Vec<u8>]) -> Reply {
    let before = app.counts().await;
    let reply = app.submit(&who.token, report, photos).await;
    assert!((400..500).contains(&reply.status), "{} → {}: {}", reply.request, reply.status, reply.text());
    assert_eq!(app.counts().await, before, "a refused submission left something behind ({})", reply.text());
    if let Some(id) = report["id"].as_str() {
        let id = ReportId(id.parse().unwrap());
        assert!(app.state.storage.report(id).await.unwrap().is_none(), "the refused report was stored");
    }
    assert_eq!(app.my_report_count(&who.token).await, 0);
    reply
}

async fn resident(app: &TestApp) -> Account {
    app.make_user(Role::Resident, None, None).await
}

async fn a_location_outside_tbilisi_or_off_the_globe_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let who = resident(&app).await;
    let (mut r, _) = report();
    r["location"] = json!({ "lat": 41.55, "lon": 45.0 }); // Rustavi
    refused(&app, &who, &r, &[photo(1)]).await.expect_field_error(422, "location", "outside_tbilisi");
    r["location"] = json!({ "lat": 95.0, "lon": 44.8 });
    refused(&app, &who, &r, &[photo(1)]).await.expect_field_error(422, "location", "invalid_coordinates");
    r["location"] = json!({ "lat": 41.7, "lon": -190.0 });
    refused(&app, &who, &r, &[]).await.expect_field_error(422, "location", "invalid_coordinates");
}

async fn an_unknown_category_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let who = resident(&app).await;
    let (mut r, _) = report();
    r["category"] = json!("potholes");
    refused(&app, &who, &r, &[photo(1)]).await.expect_field_error(422, "category", "unknown_category");
    r["category"] = json!("Not A Slug!");
    refused(&app, &who, &r, &[]).await.expect_field_error(422, "category", "unknown_category");
}

async fn a_photo_that_is_not_an_image_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let who = resident(&app).await;
    let (r, _) = report();
    let text = b"Dear City Hall, this is not a photo.".to_vec();
    refused(&app, &who, &r, &[text]).await.expect_field_error(422, "photos[0]", "not_an_image");
}

async fn an_oversized_photo_is_refused(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.max_photo_bytes = 200 * 1024).await;
    let who = resident(&app).await;
    let (r, _) = report();
    let big = large_jpeg(300 * 1024);
    assert!(image::load_from_memory(&big).is_ok(), "a real photo, only too large");
    refused(&app, &who, &r, &[big]).await.expect_field_error(413, "photos[0]", "too_large");
}

async fn decompression_bombs_are_refused_from_their_headers(backend: Backend) {
    let app = spawn_app(backend).await;
    let who = resident(&app).await;
    let (r, _) = report();
    let started = std::time::Instant::now();
    refused(&app, &who, &r, &[png_bomb(60_000, 60_000)]).await.expect_field_error(422, "photos[0]", "too_many_pixels");
    refused(&app, &who, &r, &[jpeg_bomb(65_000, 65_000)]).await.expect_field_error(422, "photos[0]", "too_many_pixels");
    // 8 000 × 8 000 passes the dimension limit but not the pixel budget.
    refused(&app, &who, &r, &[png_bomb(8_000, 8_000)]).await.expect_field_error(422, "photos[0]", "too_many_pixels");
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "bombs must be refused without decoding them");
}

async fn too_many_photos_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let who = resident(&app).await;
    let (r, _) = report();
    let photos: Vec<Vec<u8>> = (0..7).map(photo).collect();
    refused(&app, &who, &r, &photos).await.expect_field_error(422, "photos", "too_many_photos");
}

async fn malformed_json_is_a_bad_request(backend: Backend) {
    let app = spawn_app(backend).await;
    let who = resident(&app).await;
    let staff = app.make_user(Role::DistrictStaff, Some("gldani"), None).await;
    let before = app.counts().await;
    let reply = app.submit_raw(&who.token, br#"{"category": "park-benches", "location": "#.to_vec(), &[photo(1)]).await;
    reply.expect_problem(400, "malformed_request");
    let plain = app
        .request(reqwest::Method::POST, "/api/reports", Some(&who.token))
        .header("content-type", "application/json")
        .body("{not json");
    app.send(plain).await.expect_problem(400, "malformed_request");
    assert_eq!(app.counts().await, before);

    let id = app.submit_ok(&who.token, &report().0, &[]).await["id"].as_str().unwrap().to_owned();
    let before = app.counts().await;
    let path = format!("/api/staff/reports/{id}/actions");
    let broken = app
        .request(reqwest::Method::POST, &path, Some(&staff.token))
        .header("content-type", "application/json")
        .body(r#"{"action": "acknowledge""#);
    app.send(broken).await.expect_problem(400, "malformed_request");
    assert_eq!(app.counts().await, before);
    assert_eq!(app.public_report(&id).await["status"], "routed");
}

async fn a_one_megabyte_description_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let who = resident(&app).await;
    let (mut r, _) = report();
    r["description"] = json!("ა".repeat(1024 * 1024 / 3));
    refused(&app, &who, &r, &[photo(1)]).await.expect_field_error(422, "description", "too_long");
    r["description"] = json!("x".repeat(1024 * 1024));
    refused(&app, &who, &r, &[]).await.expect_field_error(422, "description", "too_long");
}

async fn a_submission_without_its_report_part_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let who = resident(&app).await;
    let before = app.counts().await;
    let form =
        reqwest::multipart::Form::new().part("photo", reqwest::multipart::Part::bytes(photo(1)).file_name("a.jpg"));
    let reply = app.send(app.request(reqwest::Method::POST, "/api/reports", Some(&who.token)).multipart(form)).await;
    reply.expect_field_error(422, "report", "required");
    assert_eq!(app.counts().await, before);
}

/// A Gldani bench report taken all the way to `fixed` by a Gldani crew.
async fn fixed_report(app: &TestApp) -> (String, Account, Account) {
    let who = resident(app).await;
    let staff = app.make_user(Role::DistrictStaff, Some("gldani"), None).await;
    let crew = app.make_user(Role::FieldCrew, None, Some("gamgeoba-gldani")).await;
    let id = app.submit_ok(&who.token, &report().0, &[]).await["id"].as_str().unwrap().to_owned();
    app.start_work(&staff, &id, &crew).await;
    app.close(&crew.token, &id, &[photo(9)]).await.expect(200);
    (id, staff, crew)
}

async fn an_illegal_transition_is_a_conflict_naming_the_rule(backend: Backend) {
    let app = spawn_app(backend).await;
    let (id, staff, crew) = fixed_report(&app).await;
    let before = app.counts().await;
    let problem =
        app.act(&staff.token, &id, &json!({ "action": "acknowledge" })).await.expect_problem(409, "illegal_transition");
    assert!(problem["detail"].as_str().unwrap().contains("fixed"), "the rule is named: {problem}");
    app.act(&staff.token, &id, &json!({ "action": "assign_crew", "crew": crew.id }))
        .await
        .expect_problem(409, "illegal_transition");
    app.close(&crew.token, &id, &[photo(10)]).await.expect_problem(409, "illegal_transition");
    assert_eq!(app.counts().await, before, "refused transitions store nothing (no event, no proof photo, no blob)");
    assert_eq!(app.public_report(&id).await["status"], "fixed");
}

async fn fixed_without_a_proof_photo_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let who = resident(&app).await;
    let staff = app.make_user(Role::DistrictStaff, Some("gldani"), None).await;
    let crew = app.make_user(Role::FieldCrew, None, Some("gamgeoba-gldani")).await;
    let id = app.submit_ok(&who.token, &report().0, &[]).await["id"].as_str().unwrap().to_owned();
    app.start_work(&staff, &id, &crew).await;
    let before = app.counts().await;
    // A form with the notes but no photo part; then plain JSON, which cannot carry photos.
    let notes = json!({ "public_note": "Done, trust me." });
    app.close_with(&crew.token, &id, Some(&notes), &[]).await.expect_field_error(422, "photos", "proof_photo_required");
    app.post_json(&format!("/api/crew/tickets/{id}/close"), Some(&crew.token), &notes).await.expect_field_error(
        422,
        "photos",
        "proof_photo_required",
    );
    // Claiming photos in the JSON does not count: the staff route takes no photo count at all,
    // and fixed-closures go through the close route, which counts what it received.
    app.act(&staff.token, &id, &json!({ "action": "mark_fixed", "proof_photos": 3 })).await.expect_field_error(
        422,
        "proof_photos",
        "invalid_value",
    );
    app.act(&staff.token, &id, &json!({ "action": "mark_fixed" })).await.expect_field_error(
        422,
        "action",
        "not_a_staff_action",
    );
    assert_eq!(app.counts().await, before);
    assert_eq!(app.public_report(&id).await["status"], "in_progress");
}

async fn staff_acting_outside_their_district_are_forbidden(backend: Backend) {
    let app = spawn_app(backend).await;
    let who = resident(&app).await;
    let vake = app.make_user(Role::DistrictStaff, Some("vake"), None).await;
    let id = app.submit_ok(&who.token, &report().0, &[]).await["id"].as_str().unwrap().to_owned();
    let before = app.counts().await;
    for action in [
        json!({ "action": "acknowledge" }),
        json!({ "action": "respond", "public_note": "Not ours." }),
        json!({ "action": "no_action", "reason": "Not ours." }),
    ] {
        let problem = app.act(&vake.token, &id, &action).await.expect_problem(403, "forbidden");
        assert!(problem["detail"].as_str().unwrap().contains("district"), "{problem}");
    }
    assert_eq!(app.counts().await, before);
    assert_eq!(app.public_report(&id).await["status"], "routed");
}

async fn unknown_fields_in_a_submission_are_named(backend: Backend) {
    let app = spawn_app(backend).await;
    let who = resident(&app).await;
    let (mut r, _) = report();
    r["colour"] = json!("red");
    refused(&app, &who, &r, &[photo(1)]).await.expect_field_error(422, "colour", "invalid_value");
}

async fn missing_or_mistyped_fields_in_a_submission_are_named(backend: Backend) {
    let app = spawn_app(backend).await;
    let who = resident(&app).await;
    let (r, _) = report();
    let mut missing = r.clone();
    missing.as_object_mut().unwrap().remove("description");
    refused(&app, &who, &missing, &[]).await.expect_field_error(422, "description", "invalid_value");
    let mut mistyped = r.clone();
    mistyped["location"] = json!("near the school");
    refused(&app, &who, &mistyped, &[]).await.expect_field_error(422, "location", "invalid_value");
}

async fn unknown_fields_in_an_action_are_named(backend: Backend) {
    let app = spawn_app(backend).await;
    let who = resident(&app).await;
    let staff = app.make_user(Role::DistrictStaff, Some("gldani"), None).await;
    let id = app.submit_ok(&who.token, &report().0, &[]).await["id"].as_str().unwrap().to_owned();
    let before = app.counts().await;
    // A typo'd note must not vanish silently while the action goes through.
    let typo = json!({ "action": "acknowledge", "pubic_note": "We are on it." });
    app.act(&staff.token, &id, &typo).await.expect_field_error(422, "pubic_note", "invalid_value");
    assert_eq!(app.counts().await, before);
    assert_eq!(app.public_report(&id).await["status"], "routed");
}

async fn unknown_fields_in_closing_notes_are_named(backend: Backend) {
    let app = spawn_app(backend).await;
    let who = resident(&app).await;
    let staff = app.make_user(Role::DistrictStaff, Some("gldani"), None).await;
    let crew = app.make_user(Role::FieldCrew, None, Some("gamgeoba-gldani")).await;
    let id = app.submit_ok(&who.token, &report().0, &[]).await["id"].as_str().unwrap().to_owned();
    app.start_work(&staff, &id, &crew).await;
    let before = app.counts().await;
    let notes = json!({ "public_note": "Fixed.", "colour": "green" });
    app.close_with(&crew.token, &id, Some(&notes), &[photo(2)]).await.expect_field_error(
        422,
        "colour",
        "invalid_value",
    );
    assert_eq!(app.counts().await, before);
    assert_eq!(app.public_report(&id).await["status"], "in_progress");
}

async fn unknown_fields_in_a_dispute_are_named(backend: Backend) {
    let app = spawn_app(backend).await;
    let (id, ..) = fixed_report(&app).await;
    let reporter_token = {
        // The reporter of `fixed_report` is its first resident; dispute as a fresh reporter
        // instead would be a 403, so look the reporter up through storage.
        let report = app.state.storage.report(ReportId(id.parse().unwrap())).await.unwrap().unwrap();
        app.new_session(report.reporter).await
    };
    let before = app.counts().await;
    let path = format!("/api/reports/{id}/dispute");
    app.post_json(&path, Some(&reporter_token), &json!({ "reason": "Still broken.", "urgent": true }))
        .await
        .expect_field_error(422, "urgent", "invalid_value");
    app.post_json(&path, Some(&reporter_token), &json!({})).await.expect_field_error(422, "reason", "invalid_value");
    app.post_json(&path, Some(&reporter_token), &json!({ "reason": " " })).await.expect_field_error(
        422,
        "reason",
        "reason_required",
    );
    assert_eq!(app.counts().await, before);
    assert_eq!(app.public_report(&id).await["status"], "fixed");
}

async fn a_broken_second_photo_after_a_good_first_stores_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let who = resident(&app).await;
    let (r, _) = report();
    let reply = refused(&app, &who, &r, &[photo(1), b"GIF89a, or so it says".to_vec()]).await;
    reply.expect_field_error(422, "photos[1]", "not_an_image");
}
