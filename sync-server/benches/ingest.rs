//! Report ingest through the real HTTP endpoint (`POST /api/reports`, JSON, no photos; the photo
//! pipeline has its own benchmark) against raw batched inserts of the same rows (a report and its
//! two timeline events, 1 000 reports per transaction) into SQLite on the same disk with the same
//! settings, in the same run. Target: HTTP ≥ 50 % of raw.
//!
//! Two raw baselines: through sqlx (the driver the server uses) and through rusqlite with one
//! prepared statement per table (the fastest plain SQLite path in Rust).
//!
//! A last round drives the server with `wrk` from a separate process when it is installed: the
//! in-process Rust client competes with the server for the same two cores, wrk much less.
//!
//! Disk and CPU speed on a shared virtual machine drift from minute to minute, so the two paths are
//! measured in alternating rounds and the median of the per-round ratios is reported.
//!
//! `cargo bench -p smartmap-server --bench ingest` (env: INGEST_REPORTS per round, INGEST_CLIENTS,
//! INGEST_ROUNDS, BENCH_DIR).

mod common;

use smartmap_server::http::accounts::create_account;
use smartmap_server::storage::SqliteStorage;
use smartmap_shared::role::Role;
use sqlx::SqlitePool;
use std::time::Instant;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Sends `total` reports from `clients` concurrent clients; returns (stored, seconds).
async fn http_round(base: &str, token: &str, total: usize, clients: usize, seed: u64) -> (usize, f64) {
    let client = reqwest::Client::builder().pool_max_idle_per_host(clients).build().unwrap();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (client, base, token) = (client.clone(), base.to_owned(), token.to_owned());
        let share = total / clients + usize::from(c < total % clients);
        tasks.push(tokio::spawn(async move {
            let mut points = common::Points::new(seed + c as u64);
            let mut stored = 0;
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
                // Points near the box's edge can fall outside every district polygon: 422 is fine.
                match res.status().as_u16() {
                    201 => stored += 1,
                    422 => {}
                    other => panic!("unexpected {other}"),
                }
            }
            stored
        }));
    }
    let mut stored = 0;
    for t in tasks {
        stored += t.await.unwrap();
    }
    (stored, started.elapsed().as_secs_f64())
}

/// Inserts `total` reports with their two events, 1 000 per transaction; returns seconds.
async fn raw_round(pool: &SqlitePool, reporter: &[u8], total: usize, seed: u64) -> f64 {
    let mut points = common::Points::new(seed);
    let started = Instant::now();
    let mut done = 0;
    while done < total {
        let mut tx = pool.begin().await.unwrap();
        for _ in 0..1_000.min(total - done) {
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
            .bind(reporter)
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
    started.elapsed().as_secs_f64()
}

/// The same rows through rusqlite: prepared statements, 1 000 reports per transaction, on a
/// blocking thread; returns seconds.
fn rusqlite_round(path: &std::path::Path, reporter: &[u8], total: usize, seed: u64) -> f64 {
    let mut conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "wal").unwrap();
    conn.pragma_update(None, "synchronous", "full").unwrap();
    conn.pragma_update(None, "foreign_keys", "on").unwrap();
    let mut points = common::Points::new(seed);
    let started = Instant::now();
    let mut done = 0;
    while done < total {
        let tx = conn.transaction().unwrap();
        {
            let mut report = tx
                .prepare_cached(
                    "INSERT INTO reports (id, category_id, district_id, body_id, status, lat, lon, description, \
                     reporter_id, created_at, routed_at, deadline, updated_at, payload_sha256) VALUES (?1, 'cleaning', \
                     'gldani', 'tbilservice', 'routed', ?2, ?3, 'ბოძზე ნათურა არ ანთებს / The street lamp is out', ?4, ?5, \
                     ?5, ?6, ?5, 'x')",
                )
                .unwrap();
            let mut event = tx
                .prepare_cached(
                    "INSERT INTO report_events (report_id, at, action, to_status) VALUES (?1, ?2, ?3, 'routed')",
                )
                .unwrap();
            for _ in 0..1_000.min(total - done) {
                let (lat, lon) = points.point();
                let now = chrono::Utc::now().timestamp_millis();
                let id = uuid::Uuid::now_v7();
                report
                    .execute(rusqlite::params![id.as_bytes().as_slice(), lat, lon, reporter, now, now + 86_400_000])
                    .unwrap();
                for action in ["submit", "route"] {
                    event.execute(rusqlite::params![id.as_bytes().as_slice(), now, action]).unwrap();
                }
                done += 1;
            }
        }
        tx.commit().unwrap();
    }
    started.elapsed().as_secs_f64()
}

/// The same ingest driven by `wrk` (Debian package `wrk`), a load generator in C in its own
/// process, so the server gets the CPU the Rust client would otherwise share with it. Posts for
/// `seconds` and returns (reports stored, seconds), counted from the database.
async fn wrk_round(
    base: &str,
    token: &str,
    state: &smartmap_server::state::AppState,
    seconds: u32,
) -> Option<(usize, f64)> {
    if !std::path::Path::new("/usr/bin/wrk").exists() {
        println!("ingest: wrk not installed (apt-get install wrk); skipping the wrk round");
        return None;
    }
    let script = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        script.path(),
        format!(
            "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n\
             wrk.headers[\"Authorization\"] = \"Bearer {token}\"\n\
             wrk.body = '{{\"category\":\"cleaning\",\"location\":{{\"lat\":41.7151,\"lon\":44.8271}},\
             \"description\":\"ნაგავი არ გაუტანიათ / Rubbish not collected\"}}'\n"
        ),
    )
    .unwrap();
    let before = state.storage.count_reports(&Default::default()).await.unwrap();
    let started = Instant::now();
    let out = tokio::process::Command::new("/usr/bin/wrk")
        .args(["-t1", "-c32", &format!("-d{seconds}s"), "-s"])
        .arg(script.path())
        .arg(format!("{base}/api/reports"))
        .output()
        .await
        .unwrap();
    let secs = started.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("Non-2xx"), "wrk saw refusals:\n{text}");
    let after = state.storage.count_reports(&Default::default()).await.unwrap();
    Some(((after - before) as usize, secs))
}

#[tokio::main]
async fn main() {
    let total = env_usize("INGEST_REPORTS", 5_000);
    let clients = env_usize("INGEST_CLIENTS", 32);
    let rounds = env_usize("INGEST_ROUNDS", 3);
    let bench_dir = std::env::var("BENCH_DIR").unwrap_or_else(|_| ".".into());

    // The real server on its own database.
    let dir = tempfile::tempdir_in(&bench_dir).unwrap();
    let app = common::app(dir.path()).await;
    let state = app.state().clone();
    let user = create_account(&state, "bench@example.ge", "benchmark-password", "Bench", Role::Resident, None, None)
        .await
        .unwrap();
    let (token, stored) = smartmap_server::auth::new_session_token();
    state.storage.create_session(&stored, user.id, chrono::Utc::now() + chrono::Duration::days(1)).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));

    // Raw inserts into a second database of the same schema, same settings, same disk.
    let raw_dir = tempfile::tempdir_in(&bench_dir).unwrap();
    let raw_app = common::app(raw_dir.path()).await;
    let raw_user =
        create_account(raw_app.state(), "raw@example.ge", "benchmark-password", "Raw", Role::Resident, None, None)
            .await
            .unwrap();
    let raw = SqliteStorage::connect(&format!("sqlite://{}/smartmap.db", raw_dir.path().display())).await.unwrap();

    let raw_db = raw_dir.path().join("smartmap.db");
    let mut ratios = Vec::new();
    let mut ratios_rusqlite = Vec::new();
    for round in 0..rounds {
        let (stored, http_secs) = http_round(&base, &token, total, clients, 0x1000 * (round as u64 + 1)).await;
        let reporter = raw_user.id.0.as_bytes().to_vec();
        let raw_secs = raw_round(raw.writer_pool(), &reporter, stored, round as u64 + 99).await;
        let db = raw_db.clone();
        let rusqlite_secs =
            tokio::task::spawn_blocking(move || rusqlite_round(&db, &reporter, stored, round as u64 + 199))
                .await
                .unwrap();
        let http_rate = stored as f64 / http_secs;
        let (raw_rate, rusqlite_rate) = (stored as f64 / raw_secs, stored as f64 / rusqlite_secs);
        ratios.push(http_rate / raw_rate);
        ratios_rusqlite.push(http_rate / rusqlite_rate);
        println!(
            "ingest round {}: HTTP {stored} reports, {clients} clients, {http_rate:.0}/s; raw batched via sqlx \
             {raw_rate:.0}/s ({:.1} %); via rusqlite {rusqlite_rate:.0}/s ({:.1} %)",
            round + 1,
            100.0 * http_rate / raw_rate,
            100.0 * http_rate / rusqlite_rate,
        );
    }
    if let Some((stored, secs)) = wrk_round(&base, &token, &state, 10).await {
        let reporter = raw_user.id.0.as_bytes().to_vec();
        let db = raw_db.clone();
        let rusqlite_secs =
            tokio::task::spawn_blocking(move || rusqlite_round(&db, &reporter, stored, 999)).await.unwrap();
        let (http_rate, rusqlite_rate) = (stored as f64 / secs, stored as f64 / rusqlite_secs);
        println!(
            "ingest with wrk (32 connections, 10 s): HTTP {stored} reports stored, {http_rate:.0}/s; raw batched via \
             rusqlite right after {rusqlite_rate:.0}/s; HTTP/raw = {:.1} %",
            100.0 * http_rate / rusqlite_rate
        );
    }
    ratios.sort_by(f64::total_cmp);
    ratios_rusqlite.sort_by(f64::total_cmp);
    println!(
        "ingest: median HTTP/raw over {rounds} rounds = {:.1} % of raw sqlx, {:.1} % of raw rusqlite",
        100.0 * ratios[ratios.len() / 2],
        100.0 * ratios_rusqlite[ratios_rusqlite.len() / 2]
    );
}
