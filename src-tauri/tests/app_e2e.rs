//! The app end to end: the cargo-built `smartmap-app` binary in a real WebKitGTK webview, driven
//! through `tauri-driver` + `WebKitWebDriver` (under Xvfb when there is no display), against the
//! real server (`SyncServer`, in process, behind its proxy so the app keeps one address while
//! the server is down and back).
//!
//! 1. The app starts with no server, shows the embedded UI (`ui/dist`, not a dev server) and
//!    opens its database where `SMARTMAP_APP_DATA` says.
//! 2. Through the shell's commands (what the UI calls): a report with a photo is captured with
//!    the server down and waits in the outbox; the server comes back, the resident signs in, the
//!    report syncs (`sync-finished` arrives); staff act over HTTP; the app shows the new state.
//! 3. The same journey through the UI (the test ids of the contract): a report with a
//!    photo chosen in the file input, queued with the server down; sign in once it is back; the
//!    list shows it routed, then acknowledged, and its page shows the city's response. This one
//!    needs the real UI in `ui/dist` (`npm --prefix ui run build` before building the app).
//!
//! Without `tauri-driver`/`WebKitWebDriver`/Xvfb these tests print a notice and pass, unless
//! `SMARTMAP_REQUIRE_APP_E2E=1`. Screenshots go to `target/screenshots/app/`.

use anyhow::{Context, Result, bail, ensure};
use base64::Engine as _;
use serde_json::{Value, json};
use smartmap_shared::role::Role;
use smartmap_tests::server::SyncServer;
use smartmap_tests::webdriver::{AppDriver, Session, free_port};
use smartmap_tests::{Backend, GLDANI, PASSWORD};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One app at a time: each test has its own Xvfb display, tauri-driver and WebKitWebDriver, and
/// on two cores several webviews starting together trip over each other's start-up.
static ONE_APP_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The app binary cargo built for these tests.
fn app_binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_smartmap-app"))
}

/// Where screenshots go: `<workspace>/target/screenshots/app/<name>.png`.
fn screenshot_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots/app").join(format!("{name}.png"))
}

/// The UI's root: whatever the built UI renders into, or the page's first element.
const UI_ROOT: &str = "#app > *, body > main, [data-testid]";

/// Calls a shell command the way the UI does (`invoke(cmd, args)`); a rejection (the command's
/// `{ code, message }`) is an `Err` carrying it.
async fn invoke(session: &Session, command: &str, args: Value) -> Result<Value> {
    let outcome = session
        .execute_async(
            "const done = arguments[arguments.length - 1];
             window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1]).then(
               (value) => done({ ok: value === undefined ? null : value }),
               (error) => done({ error }));",
            vec![json!(command), args],
        )
        .await
        .with_context(|| format!("invoking {command}"))?;
    match outcome.get("error") {
        Some(error) => bail!("{command} failed: {error}"),
        None => Ok(outcome.get("ok").cloned().unwrap_or(Value::Null)),
    }
}

/// Collects the app's `sync-finished` events into `window.__syncFinished` (the UI's `listen()`
/// does the same through `@tauri-apps/api`).
async fn record_sync_finished(session: &Session) -> Result<()> {
    session
        .execute_async(
            "const done = arguments[arguments.length - 1];
             window.__syncFinished = [];
             const handler = window.__TAURI_INTERNALS__.transformCallback(
               (event) => window.__syncFinished.push(event.payload));
             window.__TAURI_INTERNALS__.invoke('plugin:event|listen',
               { event: 'sync-finished', target: { kind: 'Any' }, handler })
               .then(() => done(true), (e) => done(String(e)));",
            vec![],
        )
        .await
        .map(drop)
}

async fn sync_finished_events(session: &Session) -> Result<Vec<Value>> {
    let events = session.execute("return window.__syncFinished || [];", vec![]).await?;
    Ok(events.as_array().cloned().unwrap_or_default())
}

/// The report `id` as the app shows it.
async fn report_in_app(session: &Session, id: &str) -> Result<Value> {
    invoke(session, "report", json!({ "id": id })).await
}

/// Starts the app with `server_url` and a fresh data folder; `None` when the tools are missing.
async fn start_app(server_url: &str, data: &Path) -> Result<Option<(AppDriver, Session)>> {
    let env = [("SMARTMAP_SERVER_URL", server_url.to_owned()), ("SMARTMAP_APP_DATA", data.display().to_string())];
    let Some(driver) = AppDriver::start(app_binary(), &env)? else { return Ok(None) };
    let session = driver.session().await?;
    session.wait_for(UI_ROOT, Duration::from_secs(60)).await.context("the UI did not appear")?;
    Ok(Some((driver, session)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_starts_without_a_server_and_shows_the_embedded_ui() -> Result<()> {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let data = tempfile::tempdir()?;
    let nowhere = format!("http://127.0.0.1:{}", free_port());
    let Some((_driver, session)) = start_app(&nowhere, data.path()).await? else { return Ok(()) };

    session.screenshot(&screenshot_path("start-offline")).await?;
    // The embedded `ui/dist`, served by the app itself — not the dev server's URL.
    let url = session.execute("return window.location.href;", vec![]).await?;
    let url = url.as_str().unwrap_or_default();
    ensure!(!url.contains("localhost:5173"), "the app loaded the dev server: {url}");

    let info = invoke(&session, "app_info", json!({})).await?;
    assert_eq!(info["server_url"], nowhere.as_str(), "SMARTMAP_SERVER_URL reaches the app: {info}");
    assert!(data.path().join("smartmap.db").is_file(), "the database lives in SMARTMAP_APP_DATA");
    assert!(data.path().join("installation-id").is_file(), "the installation id is kept next to it");
    assert_eq!(invoke(&session, "account", json!({})).await?, Value::Null);
    assert_eq!(invoke(&session, "access_token", json!({})).await?, Value::Null, "signed out: no token");

    session.delete().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_captured_with_the_server_down_syncs_when_it_returns_and_shows_the_citys_answer() -> Result<()> {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let mut server = SyncServer::start(Backend::Sqlite, |_| {}).await;
    // The app runs on the wall clock; tokens and deadlines must agree with it.
    server.clock.set(chrono::Utc::now());
    let resident = server.make_user(Role::Resident, None, None).await;
    let staff = server.make_user(Role::DistrictStaff, Some("gldani"), None).await;
    server.kill().await;

    let data = tempfile::tempdir()?;
    let Some((_driver, session)) = start_app(&server.url(), data.path()).await? else { return Ok(()) };
    record_sync_finished(&session).await?;

    // Offline, never signed in: the capture is queued all the same.
    let photo = base64::engine::general_purpose::STANDARD.encode(smartmap_tests::photos::jpeg(640, 480, 7));
    let draft = json!({
        "category": "cleaning", "lat": GLDANI.0, "lon": GLDANI.1,
        "description": "ნაგავი არ გაუტანიათ — the bins were not emptied",
        "address": "Gldani, micro-district 3", "photos": [photo],
    });
    let queued = invoke(&session, "create_report", json!({ "draft": draft })).await?;
    let id = queued["report_id"].as_str().context("a report id")?.to_owned();
    let outbox = invoke(&session, "outbox", json!({})).await?;
    assert_eq!(outbox[0]["state"], "pending", "{outbox}");
    assert_eq!(outbox[0]["photos_total"], 1, "{outbox}");
    assert_eq!(report_in_app(&session, &id).await?["status"], "queued");
    let failed = invoke(&session, "sync_now", json!({})).await;
    let message = format!("{:#}", failed.expect_err("no server: sync_now fails"));
    assert!(message.contains("needs_login") || message.contains("network"), "{message}");
    session.screenshot(&screenshot_path("queued-offline")).await?;

    // The server returns; the resident signs in on the phone; the report goes up with its photo.
    server.restart().await;
    let account = invoke(&session, "login", json!({ "email": resident.email, "password": PASSWORD })).await?;
    assert_eq!(account["email"], resident.email.as_str());
    assert!(invoke(&session, "access_token", json!({})).await?.is_string(), "signed in: a token");
    let (app, id) = (&session, id.as_str());
    let routed = session
        .wait_until(Duration::from_secs(60), "the report to be routed on the phone", || async move {
            let view = report_in_app(app, id).await?;
            if view["status"] == "routed" && view["local_photos"][0]["done"] == true {
                return Ok(Some(view));
            }
            // The loop was woken by the sign-in; nudging it again is what "sync now" does.
            let _ = invoke(app, "sync_now", json!({})).await;
            Ok(None)
        })
        .await?;
    assert!(routed["number"].is_number(), "{routed}");
    let finished = sync_finished_events(&session).await?;
    assert!(finished.iter().any(|e| e["ok"] == true), "a successful sync-finished event: {finished:?}");
    assert!(finished.iter().any(|e| e["ok"] == false), "the failed attempt was announced too: {finished:?}");
    let status = invoke(&session, "sync_status", json!({})).await?;
    assert_eq!(status["pending_items"], 0, "{status}");

    // Staff respond over HTTP, as the web console does; the app shows it after its next sync.
    let http = reqwest::Client::new();
    for action in [
        json!({ "action": "acknowledge" }),
        json!({ "action": "respond", "public_note": "ვაგზავნით ბრიგადას — a crew is on its way" }),
    ] {
        let reply = http
            .post(format!("{}/api/staff/reports/{id}/actions", server.direct_url()))
            .bearer_auth(&staff.token)
            .json(&action)
            .send()
            .await?;
        ensure!(reply.status() == 200, "staff action {action}: {}", reply.text().await?);
    }
    let answered = session
        .wait_until(Duration::from_secs(60), "the city's answer on the phone", || async move {
            invoke(app, "sync_now", json!({})).await?;
            let view = report_in_app(app, id).await?;
            let responded = view["timeline"].as_array().into_iter().flatten().any(|e| e["action"] == "respond");
            Ok(responded.then_some(view))
        })
        .await?;
    assert_eq!(answered["status"], "acknowledged", "{answered}");
    session.screenshot(&screenshot_path("answered")).await?;

    session.delete().await?;
    Ok(())
}

/// Clicks the first displayed element matching `selector`, waiting for it.
async fn click(session: &Session, selector: &str) -> Result<()> {
    session.wait_for(selector, Duration::from_secs(30)).await?.click().await
}

/// Waits up to 90 s for `selector` to be on screen, pressing "sync now" between looks (as a
/// user would).
async fn wait_with_sync_now(s: &Session, selector: &str, what: &str) -> Result<()> {
    s.wait_until(Duration::from_secs(90), what, || async move {
        if !s.find_all(selector).await?.is_empty() {
            return Ok(Some(()));
        }
        if let Some(button) = s.find_all(&tid("sync-now")).await?.into_iter().next() {
            let _ = button.click().await;
        }
        Ok(None)
    })
    .await
}

/// `[data-testid="<id>"]`.
fn tid(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_reports_in_the_app_offline_and_sees_the_city_act_once_the_server_is_back() -> Result<()> {
    let _one = ONE_APP_AT_A_TIME.lock().await;
    let mut server = SyncServer::start(Backend::Sqlite, |_| {}).await;
    server.clock.set(chrono::Utc::now());
    let resident = server.make_user(Role::Resident, None, None).await;
    server.kill().await;

    let data = tempfile::tempdir()?;
    let Some((_driver, session)) = start_app(&server.url(), data.path()).await? else { return Ok(()) };
    let s = &session;
    ensure!(
        !s.find_all(&tid("nav-report")).await?.is_empty(),
        "the app shows no navigation: build the UI (npm --prefix ui run build) before the app"
    );

    // Report with the server down and nobody signed in: photo, category, the map's centre as
    // the place, a description, send.
    let photo = data.path().join("bins.jpg");
    std::fs::write(&photo, smartmap_tests::photos::jpeg(800, 600, 21))?;
    click(s, &tid("nav-report")).await?;
    let input = s
        .wait_until(Duration::from_secs(30), "the photo input", || async move {
            Ok(s.find_all(&tid("report-photo")).await?.into_iter().next())
        })
        .await?;
    // WebKitWebDriver sets an <input type=file>'s files from a path sent as keys.
    input.send_keys(&photo.display().to_string()).await?;
    click(s, &tid("category-cleaning")).await?;
    click(s, &tid("report-location-centre")).await?;
    s.wait_for(&format!("{}[data-lat]", tid("report-location")), Duration::from_secs(10)).await?;
    s.wait_for(&tid("report-description"), Duration::from_secs(10))
        .await?
        .send_keys("ნაგვის ურნები სავსეა — the bins are overflowing")
        .await?;
    s.screenshot(&screenshot_path("journey-1-report-form")).await?;
    click(s, &tid("report-submit")).await?;
    let page = s.wait_for(&format!("{}[data-status=\"queued\"]", tid("report-page")), Duration::from_secs(30)).await?;
    let id = page.attribute("data-report-id").await?.context("the report page names its report")?;
    let queued = report_in_app(s, &id).await?;
    assert_eq!(queued["local_photos"].as_array().map(Vec::len), Some(1), "the photo went with it: {queued}");
    s.screenshot(&screenshot_path("journey-2-queued")).await?;

    // The server is back; the resident signs in; the report goes up.
    server.restart().await;
    click(s, &tid("nav-account")).await?;
    click(s, "a[href=\"#/login\"]").await?;
    s.wait_for(&tid("login-email"), Duration::from_secs(10)).await?.send_keys(&resident.email).await?;
    s.wait_for(&tid("login-password"), Duration::from_secs(10)).await?.send_keys(PASSWORD).await?;
    click(s, &tid("login-submit")).await?;
    click(s, &tid("nav-mine")).await?;
    let routed = format!("{}[data-report-id=\"{id}\"][data-status=\"routed\"]", tid("report-item"));
    wait_with_sync_now(s, &routed, "the report to show as routed").await?;
    s.screenshot(&screenshot_path("journey-3-synced")).await?;

    // Staff of the report's district act through the API, as the web console does.
    let district = report_in_app(s, &id).await?["district"].as_str().context("a district")?.to_owned();
    let staff = server.make_user(Role::DistrictStaff, Some(&district), None).await;
    let http = reqwest::Client::new();
    for action in [
        json!({ "action": "acknowledge" }),
        json!({ "action": "respond", "public_note": "ბრიგადა გზაშია — a crew is on its way" }),
    ] {
        let reply = http
            .post(format!("{}/api/staff/reports/{id}/actions", server.direct_url()))
            .bearer_auth(&staff.token)
            .json(&action)
            .send()
            .await?;
        ensure!(reply.status() == 200, "staff action {action}: {}", reply.text().await?);
    }

    // The app shows the new state after its next sync, on the list and on the report's page.
    let acknowledged = format!("{}[data-report-id=\"{id}\"][data-status=\"acknowledged\"]", tid("report-item"));
    wait_with_sync_now(s, &acknowledged, "the report to show as acknowledged").await?;
    click(s, &format!("{} a", acknowledged)).await?;
    s.wait_for(&format!("{}[data-action=\"respond\"]", tid("timeline-entry")), Duration::from_secs(30)).await?;
    s.wait_for(&format!("{}[data-status=\"acknowledged\"]", tid("report-page")), Duration::from_secs(10)).await?;
    s.screenshot(&screenshot_path("journey-4-answered")).await?;

    session.delete().await?;
    Ok(())
}
