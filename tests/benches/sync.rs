//! Sync benchmark (issue #3): one phone (the real mobile core) captures reports offline, each with
//! one 12-megapixel camera photo, then syncs them through a byte-counting proxy to the real
//! server on SQLite. Reports, in one run:
//! - the sync's wall time and reports per second;
//! - bytes on the wire (both directions, everything: sign-in refresh, pushes, tus creation and
//!   chunks, pulls) against the payload (the mutations' JSON plus the prepared photo files);
//! - that ingest rate against raw batched SQLite inserts of the same report rows (the
//!   Foundation's baseline: rusqlite, prepared statements, 1 000 reports per transaction, WAL +
//!   synchronous=FULL, on the same schema) measured right after, on the same disk;
//! - a resumed upload: a photo's upload cut 30 % in, and the bytes sent again to finish it,
//!   against the tail the server had not acknowledged.
//!
//! `cargo bench -p smartmap-tests --bench sync` (1 000 reports; `SMARTMAP_BENCH_REPORTS=n` for
//! another count). Under `cargo test` it runs a 5-report smoke round.

use smartmap_mobile::ReportDraft;
use smartmap_server::storage::{SqliteStorage, Storage, UserRecord};
use smartmap_shared::geo::LatLon;
use smartmap_shared::ids::UserId;
use smartmap_shared::role::Role;
use smartmap_tests::phone::{Phone, config, resident};
use smartmap_tests::photos::camera_photo;
use smartmap_tests::server::SyncServer;
use smartmap_tests::{Backend, GLDANI};
use std::time::Instant;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let reports: usize = std::env::var("SMARTMAP_BENCH_REPORTS").ok().and_then(|v| v.parse().ok()).unwrap_or(if full {
        1_000
    } else {
        5
    });
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    runtime.block_on(run(reports));
}

async fn run(reports: usize) {
    let server = SyncServer::start(Backend::Sqlite, |_| {}).await;
    let alice = resident(&server).await;
    let phone = Phone::new(&server).await;
    phone.login(&alice).await;
    phone.sync().await;

    // ---- Capture offline: each camera photo is prepared on the phone (≤ 2048 px, no metadata).
    let sources: Vec<Vec<u8>> = (0..8).map(camera_photo).collect();
    println!(
        "sync bench: {reports} reports, one 12 MP photo each ({:.1} MB camera JPEGs)",
        sources[0].len() as f64 / 1e6
    );
    server.proxy.set_offline(true);
    let started = Instant::now();
    let lanes = 2;
    let captures = (0..lanes).map(|lane| {
        let client = phone.client.clone();
        let sources = &sources;
        async move {
            for n in (lane..reports).step_by(lanes) {
                let draft = ReportDraft {
                    category: "cleaning".into(),
                    location: LatLon::new(GLDANI.0 + (n % 200) as f64 * 1e-5, GLDANI.1).expect("a location"),
                    description: format!("ნაგავი ეზოში / Rubbish in the yard #{n}"),
                    address: None,
                    hide_name: false,
                    photos: vec![sources[n % sources.len()].clone()],
                };
                client.create_report(draft).await.expect("capturing a report");
            }
        }
    });
    futures::future::join_all(captures).await;
    let capture_secs = started.elapsed().as_secs_f64();
    let payload = payload_bytes(&phone);
    println!(
        "  capture (phone-side photo preparation included): {capture_secs:.1} s, {:.0} ms per report",
        1e3 * capture_secs / reports as f64
    );

    // ---- Sync.
    server.proxy.set_offline(false);
    let (up, down) = (server.proxy.bytes_up(), server.proxy.bytes_down());
    let started = Instant::now();
    phone.sync().await;
    let sync_secs = started.elapsed().as_secs_f64();
    let (up, down) = (server.proxy.bytes_up() - up, server.proxy.bytes_down() - down);
    let rate = reports as f64 / sync_secs;
    println!("  sync: {sync_secs:.1} s wall, {rate:.1} reports/s (each with its photo through the server's pipeline)");
    println!(
        "  wire: {:.1} MB up + {:.2} MB down for {:.1} MB of payload: up/payload {:.3}x, (up+down)/payload {:.3}x",
        up as f64 / 1e6,
        down as f64 / 1e6,
        payload as f64 / 1e6,
        up as f64 / payload as f64,
        (up + down) as f64 / payload as f64
    );

    // ---- The same number of reports without photos: the protocol's own cost.
    let started = Instant::now();
    for n in 0..reports.max(1_000) {
        let draft = ReportDraft {
            category: "cleaning".into(),
            location: LatLon::new(GLDANI.0 + (n % 200) as f64 * 1e-5, GLDANI.1).expect("a location"),
            description: format!("ნაგავი ეზოში / Rubbish in the yard, no photo #{n}"),
            address: None,
            hide_name: false,
            photos: vec![],
        };
        phone.client.create_report(draft).await.expect("capturing a report");
    }
    let bare_capture = started.elapsed().as_secs_f64();
    // When the pull began, from the progress events as they happen.
    let mut progress = phone.client.subscribe();
    let pull_began = tokio::spawn(async move {
        loop {
            match progress.recv().await {
                Ok(event) if event.phase == smartmap_mobile::SyncPhase::Pull => return Some(Instant::now()),
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => return None,
            }
        }
    });
    let started = Instant::now();
    phone.sync().await;
    let bare_secs = started.elapsed().as_secs_f64();
    let bare_rate = reports.max(1_000) as f64 / bare_secs;
    let push_secs = pull_began.await.ok().flatten().map(|at| (at - started).as_secs_f64());

    // ---- The Foundation's raw-SQLite baseline, same run, same disk.
    let raw = raw_sqlite_rate(reports.max(1_000)).await;
    println!(
        "  ingest: {rate:.1} reports/s synced with photos = {:.3} % of {raw:.0} reports/s raw SQLite inserts \
         (rows only); {} reports without photos: {bare_rate:.0} reports/s = {:.1} % of raw (captured in \
         {bare_capture:.1} s; push {:.2} s, pull {:.2} s)",
        100.0 * rate / raw,
        reports.max(1_000),
        100.0 * bare_rate / raw,
        push_secs.unwrap_or(f64::NAN),
        push_secs.map_or(f64::NAN, |p| bare_secs - p),
    );

    // ---- A resumed upload.
    let draft = ReportDraft {
        category: "cleaning".into(),
        location: LatLon::new(GLDANI.0, GLDANI.1).expect("a location"),
        description: "a photo on a bad line".into(),
        address: None,
        hide_name: false,
        photos: vec![sources[0].clone()],
    };
    let id = phone.client.create_report(draft).await.expect("capturing").report_id;
    let size = phone.client.report(id).await.expect("the report").local_photos[0].size as u64;
    let chunk = config(&server).upload_chunk_size as u64;
    let cut = size * 3 / 10;
    let acknowledged = cut / chunk * chunk;
    let before = server.proxy.upload_body_bytes();
    server.proxy.cut_upload_after(cut);
    phone.sync().await;
    assert_eq!(server.proxy.faults_fired(), 1, "the upload was cut");
    let resent = server.proxy.upload_body_bytes() - before - cut;
    println!(
        "  resumed upload: {size} B photo cut at {cut} B ({} B acknowledged in whole {} KiB chunks); \
         re-sent {resent} B = {:.3}x the unacknowledged tail ({} B), {:.0} % of the file",
        acknowledged,
        chunk / 1024,
        resent as f64 / (size - acknowledged) as f64,
        size - acknowledged,
        100.0 * resent as f64 / size as f64
    );
}

/// The payload a sync must carry at the least: each queued mutation as JSON, and each prepared
/// photo file.
fn payload_bytes(phone: &Phone) -> u64 {
    let store = smartmap_mobile::store::Store::open(&phone.db).expect("opening the phone's database");
    let rows = store.outbox_rows().expect("the outbox");
    let mut total = 0u64;
    for row in rows.iter().filter(|r| r.state == smartmap_mobile::OutboxState::Pending) {
        total += serde_json::to_vec(&row.mutation).expect("JSON").len() as u64;
        for photo in store.photos_of_mutation(row.mutation.mutation_id).expect("photos") {
            total += photo.size as u64;
        }
    }
    total
}

/// Reports per second stored by raw batched rusqlite inserts (a report row and its two timeline
/// entries, 1 000 per transaction) into a fresh database with the server's schema.
async fn raw_sqlite_rate(total: usize) -> f64 {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("raw.db");
    let storage = SqliteStorage::connect(&format!("sqlite://{}", path.display())).await.expect("SQLite");
    storage.migrate().await.expect("migrating");
    smartmap_server::demo::seed_reference(&storage).await.expect("reference data");
    let reporter = UserId::new_v7();
    let user = UserRecord {
        id: reporter,
        email: "raw@bench.smartmap.ge".into(),
        display_name: "raw".into(),
        password_hash: "x".into(),
        role: Role::Resident,
        district: None,
        body: None,
        created_at: chrono::Utc::now(),
    };
    storage.create_user(&user).await.expect("a user");
    drop(storage);
    tokio::task::spawn_blocking(move || {
        let mut conn = rusqlite::Connection::open(&path).expect("opening");
        conn.pragma_update(None, "journal_mode", "wal").expect("WAL");
        conn.pragma_update(None, "synchronous", "full").expect("FULL");
        let reporter = reporter.0.as_bytes().to_vec();
        let started = Instant::now();
        let mut done = 0;
        while done < total {
            let tx = conn.transaction().expect("a transaction");
            {
                let mut report = tx
                    .prepare_cached(
                        "INSERT INTO reports (id, category_id, district_id, body_id, status, lat, lon, description, \
                         reporter_id, created_at, routed_at, deadline, updated_at, payload_sha256) VALUES (?1, \
                         'cleaning', 'gldani', 'tbilservice', 'routed', ?2, ?3, 'ნაგავი ეზოში / Rubbish in the \
                         yard', ?4, ?5, ?5, ?6, ?5, 'x')",
                    )
                    .expect("prepare");
                let mut event = tx
                    .prepare_cached(
                        "INSERT INTO report_events (report_id, at, action, to_status) VALUES (?1, ?2, ?3, 'routed')",
                    )
                    .expect("prepare");
                for i in 0..1_000.min(total - done) {
                    let id = uuid::Uuid::now_v7();
                    let now = chrono::Utc::now().timestamp_millis();
                    let lat = GLDANI.0 + (i % 200) as f64 * 1e-5;
                    report
                        .execute(rusqlite::params![
                            id.as_bytes().as_slice(),
                            lat,
                            GLDANI.1,
                            reporter,
                            now,
                            now + 86_400_000
                        ])
                        .expect("insert");
                    for action in ["submit", "route"] {
                        event.execute(rusqlite::params![id.as_bytes().as_slice(), now, action]).expect("insert");
                    }
                    done += 1;
                }
            }
            tx.commit().expect("commit");
        }
        total as f64 / started.elapsed().as_secs_f64()
    })
    .await
    .expect("the baseline ran")
}
