//! Report ingest through the real HTTP endpoint (`POST /api/reports`, JSON, no photos; the photo
//! pipeline has its own benchmark) against raw batched inserts of the same rows into SQLite on the
//! same disk, in the same run. Target: HTTP ≥ 50 % of raw.
//!
//! `cargo bench -p smartmap-server --bench ingest` (env: INGEST_REPORTS, INGEST_CLIENTS).

mod common;

use smartmap_server::http::accounts::create_account;
use smartmap_shared::role::Role;
use std::time::Instant;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let total = env_usize("INGEST_REPORTS", 5_000);
    let clients = env_usize("INGEST_CLIENTS", 32);

    // --- HTTP path -----------------------------------------------------------------------
    let dir = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| ".".into())).unwrap();
    let app = common::app(dir.path()).await;
    let state = app.state().clone();
    let user = create_account(&state, "bench@example.ge", "benchmark-password", "Bench", Role::Resident, None, None)
        .await
        .unwrap();
    let (token, stored) = smartmap_server::auth::new_session_token();
    state.storage.create_session(&stored, user.id, chrono::Utc::now() + chrono::Duration::days(1)).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));

    let client = reqwest::Client::builder().pool_max_idle_per_host(clients).build().unwrap();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let client = client.clone();
        let base = base.clone();
        let token = token.clone();
        let share = total / clients + usize::from(c < total % clients);
        tasks.push(tokio::spawn(async move {
            let mut points = common::Points::new(0x1234 + c as u64);
            for i in 0..share {
                let (lat, lon) = points.point();
                let category = ["street-lighting", "cleaning", "park-benches", "trees-greenery"][i % 4];
                let body = serde_json::json!({
                    "category": category,
                    "location": { "lat": lat, "lon": lon },
                    "description": "ბოძზე ნათურა არ ანთებს / The street lamp is out",
                });
                let res =
                    client.post(format!("{base}/api/reports")).bearer_auth(&token).json(&body).send().await.unwrap();
                // Points near the bbox edge can fall outside every district polygon: 422 is fine.
                assert!(res.status() == 201 || res.status() == 422, "unexpected {}", res.status());
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let http_secs = started.elapsed().as_secs_f64();
    let stored_reports = state.storage.count_reports(&Default::default()).await.unwrap();
    let http_rate = stored_reports as f64 / http_secs;

    // --- Raw batched inserts ------------------------------------------------------------
    let raw_dir = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| ".".into())).unwrap();
    let raw_app = common::app(raw_dir.path()).await;
    let raw_state = raw_app.state().clone();
    let raw_user =
        create_account(&raw_state, "raw@example.ge", "benchmark-password", "Raw", Role::Resident, None, None)
            .await
            .unwrap();
    let pool =
        smartmap_server::storage::SqliteStorage::connect(&format!("sqlite://{}/smartmap.db", raw_dir.path().display()))
            .await
            .unwrap();
    let pool = pool.writer_pool().clone();
    let mut points = common::Points::new(99);
    let started = Instant::now();
    let batch = 1_000;
    let mut done = 0;
    while done < stored_reports as usize {
        let mut tx = pool.begin().await.unwrap();
        for _ in 0..batch.min(stored_reports as usize - done) {
            let (lat, lon) = points.point();
            let now = chrono::Utc::now().timestamp_millis();
            let id = uuid::Uuid::now_v7();
            sqlx::query(
                "INSERT INTO reports (id, category_id, district_id, body_id, status, lat, lon, description, reporter_id, \
                 created_at, routed_at, deadline, updated_at, payload_sha256) VALUES (?, 'cleaning', 'gldani', 'tbilservice', \
                 'routed', ?, ?, 'ბოძზე ნათურა არ ანთებს / The street lamp is out', ?, ?, ?, ?, ?, 'x')",
            )
            .bind(id.as_bytes().as_slice())
            .bind(lat)
            .bind(lon)
            .bind(raw_user.id.0.as_bytes().as_slice())
            .bind(now)
            .bind(now)
            .bind(now + 86_400_000)
            .bind(now)
            .execute(&mut *tx)
            .await
            .unwrap();
            for action in ["submit", "route"] {
                sqlx::query("INSERT INTO report_events (report_id, at, action, to_status) VALUES (?, ?, ?, 'routed')")
                    .bind(id.as_bytes().as_slice())
                    .bind(now)
                    .bind(action)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
            }
            done += 1;
        }
        tx.commit().await.unwrap();
    }
    let raw_secs = started.elapsed().as_secs_f64();
    let raw_rate = done as f64 / raw_secs;

    println!(
        "ingest: HTTP {stored_reports} reports with {clients} clients in {http_secs:.2} s = {http_rate:.0}/s; \
         raw batched inserts ({batch}/tx, report + 2 events) {done} in {raw_secs:.2} s = {raw_rate:.0}/s; \
         HTTP/raw = {:.1} %",
        100.0 * http_rate / raw_rate
    );
}
