//! A phone signs in with its device id and keeps itself signed in with rotating refresh tokens:
//! each refresh spends the token and issues a new pair; a retry whose answer was lost is honoured
//! within a short grace; a stolen token used after the grace, or from another device, ends the
//! whole chain; tokens expire by the server's clock; signing out ends the device's chain.

use chrono::Duration;
use reqwest::Method;
use serde_json::{Value, json};
use smartmap_server::clock::Clock;
use smartmap_shared::role::Role;
use smartmap_tests::{Account, Backend, PASSWORD, TestApp, spawn_app};
use uuid::Uuid;

smartmap_tests::scenarios!(
    a_device_signs_in_and_rotates_its_refresh_token,
    a_retry_within_the_grace_gets_a_fresh_pair,
    a_spent_token_reused_after_the_grace_ends_the_whole_chain,
    a_refresh_token_from_another_device_is_refused,
    an_expired_access_token_is_renewed_by_refresh,
    an_unused_refresh_token_expires,
    signing_out_a_device_ends_its_chain,
    a_sign_in_without_a_device_is_a_browser_session_as_before,
);

async fn device_login(app: &TestApp, account: &Account, device: Uuid) -> Value {
    let body = json!({ "email": account.email, "password": PASSWORD, "device_id": device });
    app.post_json("/api/auth/login", None, &body).await.expect(200)
}

async fn refresh(app: &TestApp, pair: &Value, device: Uuid) -> smartmap_tests::Reply {
    app.post_json("/api/auth/refresh", None, &json!({ "refresh_token": pair["refresh_token"], "device_id": device }))
        .await
}

async fn me_status(app: &TestApp, pair: &Value) -> u16 {
    app.get("/api/me", Some(pair["token"].as_str().unwrap())).await.status
}

async fn a_device_signs_in_and_rotates_its_refresh_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let device = Uuid::now_v7();
    let first = device_login(&app, &resident, device).await;
    let now = app.clock.now();
    assert_eq!(first["user"]["email"], resident.email.as_str());
    let minutes = app.state.settings.access_token_minutes;
    assert_eq!(smartmap_tests::instant(&first["expires_at"]), now + Duration::minutes(minutes));
    let days = app.state.settings.refresh_token_days;
    assert_eq!(smartmap_tests::instant(&first["refresh_expires_at"]), now + Duration::days(days));
    assert_ne!(first["token"], first["refresh_token"]);
    assert_eq!(me_status(&app, &first).await, 200);
    // A refresh token is not an access token.
    app.get("/api/me", Some(first["refresh_token"].as_str().unwrap())).await.expect_problem(401, "unauthenticated");

    let second = refresh(&app, &first, device).await.expect(200);
    assert_ne!(second["token"], first["token"]);
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(second["user"]["id"], first["user"]["id"]);
    assert_eq!(me_status(&app, &second).await, 200);
    assert_eq!(me_status(&app, &first).await, 200, "the old access token works until it expires");
    let third = refresh(&app, &second, device).await.expect(200);
    assert_eq!(me_status(&app, &third).await, 200);
    // Unknown tokens are refused.
    let forged = json!({ "refresh_token": "0".repeat(64), "device_id": device });
    app.post_json("/api/auth/refresh", None, &forged).await.expect_problem(401, "refresh_invalid");
}

async fn a_retry_within_the_grace_gets_a_fresh_pair(backend: Backend) {
    let app = spawn_app(backend).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let device = Uuid::now_v7();
    let first = device_login(&app, &resident, device).await;
    let lost = refresh(&app, &first, device).await.expect(200);
    // The answer never reached the phone; it retries with the token it still holds.
    app.advance(Duration::seconds(app.state.settings.refresh_grace_seconds));
    let retried = refresh(&app, &first, device).await.expect(200);
    assert_ne!(retried["refresh_token"], lost["refresh_token"]);
    assert_eq!(me_status(&app, &retried).await, 200);
    // The pair whose answer was lost is revoked; the retried one carries the chain on.
    refresh(&app, &lost, device).await.expect_problem(401, "refresh_invalid");
    assert_eq!(me_status(&app, &lost).await, 401);
    let next = refresh(&app, &retried, device).await.expect(200);
    assert_eq!(me_status(&app, &next).await, 200);
}

async fn a_spent_token_reused_after_the_grace_ends_the_whole_chain(backend: Backend) {
    let app = spawn_app(backend).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let device = Uuid::now_v7();
    let first = device_login(&app, &resident, device).await;
    let second = refresh(&app, &first, device).await.expect(200);
    let third = refresh(&app, &second, device).await.expect(200);
    let other_login = device_login(&app, &resident, Uuid::now_v7()).await;

    // Someone copied `first`; it comes back after the grace.
    app.advance(Duration::seconds(app.state.settings.refresh_grace_seconds + 1));
    refresh(&app, &first, device).await.expect_problem(401, "refresh_invalid");
    // Every token of the chain is dead, the latest included, and so are its access tokens.
    refresh(&app, &third, device).await.expect_problem(401, "refresh_invalid");
    for pair in [&first, &second, &third] {
        assert_eq!(me_status(&app, pair).await, 401);
    }
    // Another device's sign-in is another chain.
    assert_eq!(me_status(&app, &other_login).await, 200);
    assert_eq!(app.get("/api/me", Some(&resident.token)).await.status, 200, "browser sessions live on");
}

async fn a_refresh_token_from_another_device_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let device = Uuid::now_v7();
    let first = device_login(&app, &resident, device).await;
    refresh(&app, &first, Uuid::now_v7()).await.expect_problem(401, "refresh_invalid");
    // The token left its device: the chain is revoked (docs/sync.md), its own device included.
    refresh(&app, &first, device).await.expect_problem(401, "refresh_invalid");
    assert_eq!(me_status(&app, &first).await, 401);
}

async fn an_expired_access_token_is_renewed_by_refresh(backend: Backend) {
    let app = spawn_app(backend).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let device = Uuid::now_v7();
    let first = device_login(&app, &resident, device).await;
    // (10 s before: further from the expiry than the 5-second session cache trusts an entry.)
    app.advance(Duration::minutes(app.state.settings.access_token_minutes) - Duration::seconds(10));
    assert_eq!(me_status(&app, &first).await, 200);
    app.advance(Duration::seconds(10));
    app.get("/api/me", Some(first["token"].as_str().unwrap())).await.expect_problem(401, "unauthenticated");
    let second = refresh(&app, &first, device).await.expect(200);
    assert_eq!(me_status(&app, &second).await, 200);
}

async fn an_unused_refresh_token_expires(backend: Backend) {
    let app = spawn_app(backend).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let device = Uuid::now_v7();
    let first = device_login(&app, &resident, device).await;
    app.advance(Duration::days(app.state.settings.refresh_token_days));
    refresh(&app, &first, device).await.expect_problem(401, "refresh_invalid");
}

async fn signing_out_a_device_ends_its_chain(backend: Backend) {
    let app = spawn_app(backend).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let device = Uuid::now_v7();
    let first = device_login(&app, &resident, device).await;
    let second = refresh(&app, &first, device).await.expect(200);
    let logout = app.request(Method::POST, "/api/auth/logout", Some(second["token"].as_str().unwrap()));
    app.send(logout).await.expect(204);
    refresh(&app, &second, device).await.expect_problem(401, "refresh_invalid");
    assert_eq!(me_status(&app, &first).await, 401, "every access token of the chain ended");
    assert_eq!(me_status(&app, &second).await, 401);
}

async fn a_sign_in_without_a_device_is_a_browser_session_as_before(backend: Backend) {
    let app = spawn_app(backend).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let reply = app.post_json("/api/auth/login", None, &json!({ "email": resident.email, "password": PASSWORD })).await;
    let body = reply.expect(200);
    assert!(body["token"].is_string());
    assert_eq!(body.get("refresh_token"), None);
    assert_eq!(body["user"]["email"], resident.email.as_str());
    let bad_device = json!({ "email": resident.email, "password": PASSWORD, "device_id": "phone" });
    app.post_json("/api/auth/login", None, &bad_device).await.expect_field_error(422, "device_id", "invalid_value");
}
