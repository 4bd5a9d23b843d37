//! The phone against the real server (`smartmap_server::Application` on port 0, its own temp
//! data dir and SQLite database): login, push, photo uploads, pull.
//! The fault matrix with a proxy, several phones and both databases is in
//! `tests/tests/sync_faults.rs`.

mod common;

use common::*;
use serde_json::{Value, json};
use smartmap_mobile::store::meta;
use smartmap_mobile::sync::http::Api;
use smartmap_mobile::{Client, Config, Error, OutboxState, ReportDraft, SyncPhase};
use smartmap_server::Application;
use smartmap_server::clock::{Clock as ServerClock, SystemClock};
use smartmap_server::config::Settings;
use smartmap_shared::geo::LatLon;
use smartmap_shared::ids::ReportId;
use smartmap_shared::sync::PushRequest;
use std::sync::Arc;
use std::time::Duration;

const PASSWORD: &str = "correct horse battery staple";

/// A running server; stops when dropped.
struct Server {
    address: String,
    _stop: tokio::sync::oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

async fn spawn_server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        bind: "127.0.0.1:0".into(),
        data_dir: dir.path().to_path_buf(),
        database_url: None,
        media_dir: Some(dir.path().join("media")),
        seed_demo: false,
        overdue_sweep_seconds: 0,
        ..Settings::default()
    };
    let app = Application::build(settings, Arc::new(SystemClock) as Arc<dyn ServerClock>).await.unwrap();
    let address = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    Server { address, _stop: stop, _dir: dir }
}

/// Registers a resident and returns their e-mail.
async fn register(server: &Server, name: &str) -> String {
    let email = format!("{name}-{}@test.smartmap.ge", uuid::Uuid::now_v7().simple());
    let response = reqwest::Client::new()
        .post(format!("{}/api/auth/register", server.address))
        .json(&json!({"email": email, "password": PASSWORD, "display_name": name}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap_or_default());
    email
}

async fn phone(server: &Server, chunk: usize) -> (Client, tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("phone.db");
    let mut config = Config::new(&server.address);
    config.upload_chunk_size = chunk;
    config.request_timeout = Duration::from_secs(20);
    (Client::open_with(&db, config).await.unwrap(), dir, db)
}

fn draft(photos: Vec<Vec<u8>>) -> ReportDraft {
    ReportDraft {
        category: "street-lighting".into(),
        location: LatLon::new(GLDANI.0, GLDANI.1).unwrap(),
        description: "The street light by the school is out".into(),
        address: None,
        hide_name: false,
        photos,
    }
}

#[tokio::test]
async fn the_harness_starts_a_real_server_and_registers_a_resident() {
    let server = spawn_server().await;
    register(&server, "nino").await;
    // Signed out, the phone is told to sign in and keeps its capture.
    let (client, _dir, _db) = phone(&server, 1024 * 1024).await;
    let queued = client.create_report(draft(vec![])).await.unwrap();
    assert!(matches!(client.sync_once().await, Err(Error::NeedsLogin)));
    assert_eq!(client.report(queued.report_id).await.unwrap().status, "queued");
}

#[tokio::test]
async fn a_report_captured_before_signing_in_reaches_the_server_once_with_its_photo() {
    let server = spawn_server().await;
    let email = register(&server, "nino").await;
    let (client, _dir, _db) = phone(&server, 16 * 1024).await;
    let mut progress = client.subscribe();

    let queued = client.create_report(draft(vec![jpeg(1600, 1200, true)])).await.unwrap();
    let account = client.login(&email, PASSWORD).await.unwrap();
    assert_eq!(account.email.as_deref(), Some(email.as_str()));
    let summary = client.sync_once().await.unwrap();
    assert!(summary.snapshot, "the first sync starts from a snapshot");
    assert_eq!((summary.acked, summary.rejected, summary.photos_uploaded), (1, 0, 1));

    let mut uploaded = 0;
    while let Ok(event) = progress.try_recv() {
        if event.phase == SyncPhase::Upload {
            assert!(event.bytes_sent <= event.bytes_total);
            uploaded = event.bytes_sent;
        }
    }
    let size = client.outbox().await.unwrap()[0].photos_total;
    assert_eq!(size, 1);
    assert!(uploaded > 16 * 1024, "several chunks were reported: {uploaded}");

    let mine = client.my_reports().await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].id, queued.report_id);
    assert!(mine[0].number.is_some(), "{:?}", mine[0]);
    assert_eq!(mine[0].status, "routed");
    // Captured before any reference data arrived, the report had no preview; now the phone's
    // own routing (the server's code, on synced data) agrees with where the server sent it.
    assert!(queued.preview.is_none());
    let preview = client.preview("street-lighting", LatLon::new(GLDANI.0, GLDANI.1).unwrap()).await.unwrap();
    assert_eq!(mine[0].body.as_deref(), Some(preview.body.as_str()), "the preview matched the server");
    assert!(client.categories().await.unwrap().len() >= 4);

    // A second sync sends nothing again.
    let again = client.sync_once().await.unwrap();
    assert_eq!((again.acked, again.photos_uploaded), (0, 0));
    let detail: Value = reqwest::get(format!("{}/api/reports/{}", server.address, queued.report_id))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detail["photos"].as_array().map(Vec::len), Some(1), "{detail}");
}

#[tokio::test]
async fn a_rejected_mutation_is_final_and_the_next_one_goes_through() {
    let server = spawn_server().await;
    let email = register(&server, "giorgi").await;
    let (client, _dir, _db) = phone(&server, 1024 * 1024).await;
    client.login(&email, PASSWORD).await.unwrap();
    client.sync_once().await.unwrap();
    // A comment on a report that does not exist is refused; the report after it is not held up.
    client.comment(ReportId::new_v7(), "hello?").await.unwrap();
    client.create_report(draft(vec![])).await.unwrap();
    let summary = client.sync_once().await.unwrap();
    assert_eq!((summary.rejected, summary.acked), (1, 1));
    let outbox = client.outbox().await.unwrap();
    assert_eq!(outbox[0].state, OutboxState::Rejected);
    assert!(outbox[0].rejection.as_ref().is_some_and(|r| !r.message_ka.is_empty()));
    assert_eq!(outbox[1].state, OutboxState::Acked);
    let again = client.sync_once().await.unwrap();
    assert_eq!((again.rejected, again.acked), (0, 0), "a rejection is never resent");
}

#[tokio::test]
async fn an_expiring_token_is_refreshed_and_a_refused_refresh_asks_to_sign_in_again() {
    let server = spawn_server().await;
    let email = register(&server, "tamar").await;
    let (client, _dir, db) = phone(&server, 1024 * 1024).await;
    client.login(&email, PASSWORD).await.unwrap();
    let mut store = smartmap_mobile::store::Store::open(&db).unwrap();
    let old_refresh = store.meta(meta::REFRESH_TOKEN).unwrap();
    store.set_meta(meta::ACCESS_EXPIRES_AT, "2000-01-01T00:00:00Z").unwrap();
    // What the app hands the UI for direct calls is refreshed the same way.
    let token = client.access_token().await.unwrap();
    assert_eq!(store.meta(meta::ACCESS_TOKEN).unwrap().as_deref(), Some(token.as_str()));
    assert_ne!(store.meta(meta::REFRESH_TOKEN).unwrap(), old_refresh, "the refresh token rotated");
    client.sync_once().await.unwrap();

    store
        .set_meta_many(&[
            (meta::ACCESS_EXPIRES_AT, Some("2000-01-01T00:00:00Z")),
            (meta::REFRESH_TOKEN, Some("stolen")),
        ])
        .unwrap();
    assert!(matches!(client.sync_once().await, Err(Error::NeedsLogin)));
    assert!(client.sync_status().await.unwrap().needs_login);
    assert!(matches!(client.access_token().await, Err(Error::NeedsLogin)));
    // Capture keeps working, and everything goes after signing in again.
    client.create_report(draft(vec![])).await.unwrap();
    client.login(&email, PASSWORD).await.unwrap();
    assert_eq!(client.sync_once().await.unwrap().acked, 1);
}

#[tokio::test]
async fn an_interrupted_upload_resumes_from_the_servers_offset() {
    let server = spawn_server().await;
    let email = register(&server, "levan").await;
    let chunk = 8 * 1024;
    let (client, _dir, db) = phone(&server, chunk).await;
    client.login(&email, PASSWORD).await.unwrap();
    client.sync_once().await.unwrap();
    let queued = client.create_report(draft(vec![jpeg(1600, 1200, false)])).await.unwrap();

    // The mutation is pushed, then the photo's upload is cut after two chunks: done here by
    // hand with the engine's own calls, as the phone would have left it.
    let mut store = smartmap_mobile::store::Store::open(&db).unwrap();
    let token = store.meta(meta::ACCESS_TOKEN).unwrap().unwrap();
    let api = Api::new(&server.address, Duration::from_secs(20), Duration::from_secs(5)).unwrap();
    let now = chrono::Utc::now();
    let batch = store.take_batch(now, 100).unwrap();
    let ids: Vec<_> = batch.iter().map(|m| m.mutation_id).collect();
    let request = PushRequest { device_id: store.device_id().unwrap(), mutations: batch };
    let response = api.push(&token, &request).await.unwrap();
    store.record_outcomes(&ids, &response.results, store.epoch().unwrap().as_deref(), now).unwrap();
    let photo = store.photos_of_report(queued.report_id.0).unwrap().remove(0);
    let bytes = store.photo_jpeg(photo.id).unwrap().unwrap();
    assert!(bytes.len() > 3 * chunk, "the photo needs several chunks: {}", bytes.len());
    let url = api.create_upload(&token, bytes.len() as u64, &photo.sha256, &photo.report_id, "report").await.unwrap();
    api.upload_chunk(&token, &url, 0, &bytes[..chunk]).await.unwrap();
    api.upload_chunk(&token, &url, chunk as u64, &bytes[chunk..2 * chunk]).await.unwrap();
    store.set_upload_url(photo.id, &url).unwrap(); // our record says offset 0: the server knows better

    let mut progress = client.subscribe();
    let summary = client.sync_once().await.unwrap();
    assert_eq!(summary.photos_uploaded, 1);
    let mut sent = 0;
    while let Ok(event) = progress.try_recv() {
        if event.phase == SyncPhase::Upload {
            sent = event.bytes_sent;
        }
    }
    assert_eq!(sent as usize, bytes.len() - 2 * chunk, "only the unacknowledged tail was sent");
}

/// A browser session for `email`, to look at the server as that account.
async fn session(server: &Server, email: &str) -> String {
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/api/auth/login", server.address))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["token"].as_str().expect("a session token").to_owned()
}

/// The ids of `GET /api/me/reports` for `email`.
async fn reports_of(server: &Server, email: &str) -> Vec<String> {
    let token = session(server, email).await;
    let mine: Value = reqwest::Client::new()
        .get(format!("{}/api/me/reports", server.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut ids: Vec<String> =
        mine["items"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_queue_stays_with_the_account_it_was_captured_under_when_another_signs_in() {
    let server = spawn_server().await;
    let nino = register(&server, "nino").await;
    let giorgi = register(&server, "giorgi").await;
    let (client, _dir, _db) = phone(&server, 1024 * 1024).await;

    // Captured before anyone ever signed in on this phone: the first account to sign in gets it.
    let early = client.create_report(draft(vec![])).await.unwrap();
    assert_eq!(client.outbox().await.unwrap()[0].waiting_for, None);
    client.login(&nino, PASSWORD).await.unwrap();
    assert_eq!(client.sync_once().await.unwrap().acked, 1);

    // Nino captures (no sync: offline, say) and signs out; Giorgi signs in on the same phone.
    let ninos = client.create_report(draft(vec![jpeg(800, 600, false)])).await.unwrap();
    client.logout().await.unwrap();
    let item = client.outbox().await.unwrap().pop().unwrap();
    assert_eq!(item.waiting_for.as_deref(), Some(nino.as_str()), "signed out, it waits for Nino");
    client.login(&giorgi, PASSWORD).await.unwrap();
    let summary = client.sync_once().await.unwrap();
    assert_eq!((summary.acked, summary.photos_uploaded), (0, 0), "nothing of Nino's went as Giorgi: {summary:?}");
    let detail = reqwest::get(format!("{}/api/reports/{}", server.address, ninos.report_id)).await.unwrap();
    assert_eq!(detail.status(), 404, "Nino's report is not on the server");
    let item = client.outbox().await.unwrap().into_iter().find(|i| i.mutation_id == ninos.queued.mutation_id).unwrap();
    assert_eq!((item.state, item.attempts), (OutboxState::Pending, 0));
    assert_eq!(item.waiting_for.as_deref(), Some(nino.as_str()));
    assert_eq!((item.photos_total, item.photos_uploaded), (1, 0));
    let status = client.sync_status().await.unwrap();
    assert_eq!(status.waiting_for_sign_in.len(), 1);
    assert_eq!((status.waiting_for_sign_in[0].email.as_str(), status.waiting_for_sign_in[0].items), (nino.as_str(), 1));
    assert_eq!(status.pending_items, 1);

    // Giorgi's own capture goes as his, past Nino's waiting one; his list shows only his.
    let giorgis = client.create_report(draft(vec![])).await.unwrap();
    assert_eq!(client.sync_once().await.unwrap().acked, 1);
    let listed: Vec<_> = client.my_reports().await.unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(listed, vec![giorgis.report_id], "neither Nino's synced nor her queued report is in Giorgi's list");

    // Nino signs in again: her report arrives as hers, with its photo.
    client.logout().await.unwrap();
    client.login(&nino, PASSWORD).await.unwrap();
    assert!(client.outbox().await.unwrap().iter().all(|i| i.waiting_for.is_none()));
    let summary = client.sync_once().await.unwrap();
    assert_eq!((summary.acked, summary.photos_uploaded), (1, 1), "{summary:?}");
    let status = client.sync_status().await.unwrap();
    assert!(status.waiting_for_sign_in.is_empty() && status.pending_items == 0, "{status:?}");

    let mut listed: Vec<_> = client.my_reports().await.unwrap().into_iter().map(|r| r.id.to_string()).collect();
    listed.sort();
    let mut expected_nino = vec![early.report_id.to_string(), ninos.report_id.to_string()];
    expected_nino.sort();
    assert_eq!(listed, expected_nino, "back to Nino's own list");
    expected_nino.sort();
    assert_eq!(reports_of(&server, &nino).await, expected_nino);
    assert_eq!(reports_of(&server, &giorgi).await, vec![giorgis.report_id.to_string()]);
    let detail: Value = reqwest::get(format!("{}/api/reports/{}", server.address, ninos.report_id))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detail["photos"].as_array().map(Vec::len), Some(1), "{detail}");
}
