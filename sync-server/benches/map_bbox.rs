//! The map's bbox query over 1 M reports (SQLite, R*Tree): p50/p99 of a phone-screen viewport at
//! zoom 16 through `Storage::query_reports`, against the same filter answered by a full table scan,
//! in the same run. Target: p99 < 25 ms.
//!
//! With `SMARTMAP_BENCH_POSTGRES_URL` set (a superuser URL on a PostgreSQL 15 + PostGIS server),
//! the same questions are then asked of PostgreSQL: a fresh database, 1 M reports generated in
//! SQL, the bbox through the GiST index vs the same filter on plain columns (a sequential scan).
//!
//! `cargo bench -p smartmap-server --bench map_bbox` (env: MAP_REPORTS, default 1 000 000).

mod common;

use smartmap_server::storage::{ReportQuery, SqliteStorage, Storage};
use smartmap_shared::geo::BBox;
use std::time::Instant;

/// 400 zoom-16 viewports through `Storage::query_reports`: (sorted ms, average hits).
async fn viewports(storage: &dyn Storage) -> (Vec<f64>, f64) {
    let mut viewports = common::Points::new(42);
    let mut timed = Vec::new();
    let mut found = 0usize;
    for _ in 0..400 {
        let (lat, lon) = viewports.point();
        let bbox = BBox::parse(&format!("{},{},{},{}", lon, lat, lon + 0.011, lat + 0.008)).unwrap();
        let q = ReportQuery { bbox: Some(bbox), public_only: true, limit: 501, ..ReportQuery::default() };
        let t = Instant::now();
        found += storage.query_reports(&q).await.unwrap().len();
        timed.push(t.elapsed().as_secs_f64() * 1e3);
    }
    timed.sort_by(f64::total_cmp);
    (timed, found as f64 / 400.0)
}

async fn postgres(url: &str, total: usize) {
    use sqlx::Connection;
    let name = format!("smartmap_bench_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await.unwrap();
    let db_url = {
        let mut u = url.to_owned();
        let cut = u.rfind('/').unwrap();
        u.truncate(cut + 1);
        u + &name
    };
    let storage = smartmap_server::storage::PgStorage::connect(&db_url).await.unwrap();
    storage.migrate().await.unwrap();
    smartmap_server::demo::seed_reference(&storage).await.unwrap();
    let reporter = uuid::Uuid::now_v7();
    sqlx::query(
        "INSERT INTO users (id, email, display_name, password_hash, role, created_at) \
         VALUES ($1, 'map@example.ge', 'Map', 'x', 'resident', now())",
    )
    .bind(reporter)
    .execute(storage.pool())
    .await
    .unwrap();
    let started = Instant::now();
    sqlx::query("SELECT setseed(0.42)").execute(storage.pool()).await.unwrap();
    sqlx::query(
        "INSERT INTO reports (id, category_id, district_id, body_id, status, lat, lon, description, reporter_id, \
         created_at, routed_at, deadline, updated_at, payload_sha256) \
         SELECT gen_random_uuid(), (ARRAY['street-lighting','cleaning','park-benches','trees-greenery'])[1 + g % 4], \
         'gldani', 'tbilservice', (ARRAY['routed','acknowledged','in_progress','fixed','no_action'])[1 + g % 5], \
         41.62 + random() * 0.22, 44.60 + random() * 0.41, 'a report', $1, now() - g * interval '30 seconds', \
         now() - g * interval '30 seconds', now(), now(), 'x' FROM generate_series(1, $2) AS g",
    )
    .bind(reporter)
    .bind(total as i64)
    .execute(storage.pool())
    .await
    .unwrap();
    sqlx::query("ANALYZE reports").execute(storage.pool()).await.unwrap();
    println!("map_bbox postgres: loaded {total} reports in {:.1} s", started.elapsed().as_secs_f64());

    let (timed, hits) = viewports(&storage).await;
    let mut scanned = Vec::new();
    let mut points = common::Points::new(42);
    for _ in 0..20 {
        let (lat, lon) = points.point();
        let t = Instant::now();
        // The same box on the plain columns, which have no index: a sequential scan.
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM (SELECT number FROM reports WHERE lat BETWEEN $1 AND $2 AND lon BETWEEN $3 AND $4 \
             AND NOT hidden ORDER BY number DESC LIMIT 501) AS q",
        )
        .bind(lat)
        .bind(lat + 0.008)
        .bind(lon)
        .bind(lon + 0.011)
        .fetch_one(storage.pool())
        .await
        .unwrap();
        scanned.push(t.elapsed().as_secs_f64() * 1e3);
    }
    scanned.sort_by(f64::total_cmp);
    let (p50, p99, scan50) =
        (common::percentile(&timed, 0.5), common::percentile(&timed, 0.99), common::percentile(&scanned, 0.5));
    println!(
        "map_bbox postgres: {total} reports, 400 zoom-16 viewports (avg {hits:.0} reports each): p50 {p50:.2} ms, \
         p99 {p99:.2} ms; full scan p50 {scan50:.1} ms; scan/index (p50) = {:.0}x",
        scan50 / p50
    );
    drop(storage);
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)"))).execute(&mut admin).await;
}

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
    if let Ok(url) = std::env::var("SMARTMAP_BENCH_POSTGRES_URL") {
        postgres(&url, total).await;
    }
}
