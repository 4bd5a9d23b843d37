//! The map's bbox query over 1 M reports (SQLite, R*Tree): p50/p99 of a phone-screen viewport at
//! zoom 16 through `Storage::query_reports`, against the same filter answered by a full table scan,
//! in the same run. Target: p99 < 25 ms.
//!
//! `cargo bench -p smartmap-server --bench map_bbox` (env: MAP_REPORTS, default 1 000 000).

mod common;

use smartmap_server::storage::{ReportQuery, SqliteStorage, Storage};
use smartmap_shared::geo::BBox;
use std::time::Instant;

#[tokio::main]
async fn main() {
    let total: usize = std::env::var("MAP_REPORTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| ".".into())).unwrap();
    let app = common::app(dir.path()).await;
    let user = smartmap_server::http::accounts::create_account(
        app.state(),
        "map@example.ge",
        "benchmark-password",
        "Map",
        smartmap_shared::role::Role::Resident,
        None,
        None,
    )
    .await
    .unwrap();
    let storage = SqliteStorage::connect(&format!("sqlite://{}/smartmap.db", dir.path().display())).await.unwrap();
    let pool = storage.writer_pool().clone();

    let started = Instant::now();
    let mut points = common::Points::new(7);
    let statuses = ["routed", "acknowledged", "in_progress", "fixed", "no_action"];
    let categories = ["street-lighting", "cleaning", "park-benches", "trees-greenery"];
    let base = chrono::Utc::now().timestamp_millis() - 365 * 86_400_000;
    let mut done = 0;
    while done < total {
        let mut tx = pool.begin().await.unwrap();
        for _ in 0..10_000.min(total - done) {
            let (lat, lon) = points.point();
            let t = base + done as i64 * 30_000;
            sqlx::query(
                "INSERT INTO reports (id, category_id, district_id, body_id, status, lat, lon, description, reporter_id, \
                 created_at, routed_at, deadline, updated_at, payload_sha256) VALUES (?, ?, 'gldani', 'tbilservice', ?, ?, ?, \
                 'a report', ?, ?, ?, ?, ?, 'x')",
            )
            .bind(uuid::Uuid::now_v7().as_bytes().as_slice())
            .bind(categories[done % 4])
            .bind(statuses[done % 5])
            .bind(lat)
            .bind(lon)
            .bind(user.id.0.as_bytes().as_slice())
            .bind(t)
            .bind(t)
            .bind(t + 86_400_000)
            .bind(t)
            .execute(&mut *tx)
            .await
            .unwrap();
            done += 1;
        }
        tx.commit().await.unwrap();
    }
    println!("map_bbox: loaded {total} reports in {:.1} s", started.elapsed().as_secs_f64());

    // A phone screen at zoom 16 over Tbilisi: about 0.011° of longitude by 0.008° of latitude.
    let mut viewports = common::Points::new(42);
    let mut timed = Vec::new();
    let mut scanned = Vec::new();
    let mut found = 0usize;
    for i in 0..400 {
        let (lat, lon) = viewports.point();
        let bbox = BBox::parse(&format!("{},{},{},{}", lon, lat, lon + 0.011, lat + 0.008)).unwrap();
        let q = ReportQuery { bbox: Some(bbox), public_only: true, limit: 501, ..ReportQuery::default() };
        let t = Instant::now();
        let rows = storage.query_reports(&q).await.unwrap();
        timed.push(t.elapsed().as_secs_f64() * 1e3);
        found += rows.len();
        if i % 20 == 0 {
            // The same question without the spatial index.
            let t = Instant::now();
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM (SELECT number FROM reports NOT INDEXED WHERE lat BETWEEN ? AND ? AND lon BETWEEN ? AND ? \
                 AND hidden = 0 ORDER BY number DESC LIMIT 501)",
            )
            .bind(lat)
            .bind(lat + 0.008)
            .bind(lon)
            .bind(lon + 0.011)
            .fetch_one(&pool)
            .await
            .unwrap();
            scanned.push(t.elapsed().as_secs_f64() * 1e3);
            assert_eq!(n as usize, rows.len(), "the index and the scan must agree");
        }
    }
    timed.sort_by(f64::total_cmp);
    scanned.sort_by(f64::total_cmp);
    let p50 = common::percentile(&timed, 0.50);
    let p99 = common::percentile(&timed, 0.99);
    let scan50 = common::percentile(&scanned, 0.50);
    println!(
        "map_bbox: {total} reports, 400 zoom-16 viewports (avg {:.0} reports each): p50 {p50:.2} ms, p99 {p99:.2} ms; \
         full scan p50 {scan50:.1} ms; scan/index (p50) = {:.0}x",
        found as f64 / 400.0,
        scan50 / p50
    );
}
