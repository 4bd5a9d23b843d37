//! The sync fault matrix: real phone cores (`smartmap-mobile`, each on its own SQLite file) and
//! the real server, with a fault-injecting TCP proxy between them. Every case ends with the
//! server and every phone agreeing, and with counts checked in the server's tables: nothing
//! lost, nothing stored twice.

use chrono::Duration;
use serde_json::json;
use smartmap_mobile::{Client, ReportDraft};
use smartmap_shared::geo::LatLon;
use smartmap_shared::ids::ReportId;
use smartmap_tests::phone::{Phone, Stored, config, copy_database, resident, server_report_ids, stored};
use smartmap_tests::photos::jpeg;
use smartmap_tests::server::SyncServer;
use smartmap_tests::{Backend, GLDANI, scenarios};
use std::collections::BTreeSet;
use std::sync::Arc;

scenarios!(
    a_phone_that_crashed_after_sending_resends_and_the_report_is_stored_once,
    a_push_delivered_twice_is_applied_once_and_a_reused_id_is_refused,
    an_upload_cut_at_30_percent_resumes_with_only_the_tail,
    a_corrupted_chunk_is_refused_and_sent_again,
    a_server_restarted_mid_sync_loses_nothing,
    a_server_restored_from_an_older_backup_gets_back_what_it_lost,
    a_reinstalled_app_and_a_second_device_of_the_same_user,
    capture_works_with_an_expired_token_and_push_waits_for_login,
    a_hundred_phones_with_fifty_reports_each,
);

// ---- The matrix ----------------------------------------------------------------------------

async fn a_phone_that_crashed_after_sending_resends_and_the_report_is_stored_once(backend: Backend) {
    let server = SyncServer::start(backend, |_| {}).await;
    let probe = server.probe().await;
    let alice = resident(&server).await;
    let phone = Phone::new(&server).await;
    phone.login(&alice).await;
    phone.sync().await; // reference data
    let id = phone.capture(1, 0).await;

    // The push reaches the server, which stores the report; the answer never arrives (nor that
    // of the client's immediate retry), and the app is killed before it learns anything.
    server.proxy.drop_responses(2);
    assert!(phone.client.sync_once().await.is_err(), "the push's answer was lost");
    assert_eq!(server.proxy.faults_fired(), 2);
    assert_eq!(stored(&probe).await, Stored { reports: 1, photos: 0, mutations: 1 });
    let phone = phone.restart(&server).await;

    // On restart it sends the same mutation again: the server recognises it.
    phone.sync().await;
    assert_eq!(stored(&probe).await, Stored { reports: 1, photos: 0, mutations: 1 });
    assert_eq!(phone.synced_report_ids().await, BTreeSet::from([id]));
    assert_eq!(server_report_ids(&server, &alice).await, BTreeSet::from([id]));
}

async fn a_push_delivered_twice_is_applied_once_and_a_reused_id_is_refused(backend: Backend) {
    let server = SyncServer::start(backend, |_| {}).await;
    let probe = server.probe().await;
    let alice = resident(&server).await;
    let http = reqwest::Client::new();
    let device = uuid::Uuid::now_v7();
    let report = ReportId::new_v7();
    let payload = smartmap_shared::sync::CreateReport {
        report_id: report,
        category: "cleaning".into(),
        location: LatLon::new(GLDANI.0, GLDANI.1).unwrap(),
        description: "the same push, twice".into(),
        address: None,
        hide_name: false,
        photos: vec![],
    };
    let mutation = smartmap_shared::sync::Mutation::new(
        uuid::Uuid::now_v7(),
        device,
        1,
        smartmap_shared::sync::MutationKind::CreateReport,
        &payload,
        smartmap_server::clock::Clock::now(server.clock.as_ref()),
    );
    let push = |m: &smartmap_shared::sync::Mutation| {
        let body = json!({ "device_id": device, "mutations": [m] });
        http.post(format!("{}/api/sync/push", server.url())).bearer_auth(&alice.token).json(&body).send()
    };
    let first: serde_json::Value = push(&mutation).await.unwrap().json().await.unwrap();
    let second: serde_json::Value = push(&mutation).await.unwrap().json().await.unwrap();
    assert_eq!(first["results"][0]["outcome"], "applied", "{first}");
    assert_eq!(second["results"][0]["outcome"], "duplicate", "{second}");
    assert_eq!(first["results"][0]["result"], second["results"][0]["result"], "a resend gets the stored result");

    let mut reused = mutation.clone();
    reused.payload["description"] = json!("another report under the same mutation id");
    reused.payload_sha256 = smartmap_shared::sync::payload_sha256(reused.kind, reused.v, &reused.payload);
    let third: serde_json::Value = push(&reused).await.unwrap().json().await.unwrap();
    assert_eq!(third["results"][0]["outcome"], "rejected", "{third}");
    assert_eq!(third["results"][0]["code"], "id_conflict", "{third}");
    assert_eq!(stored(&probe).await, Stored { reports: 1, photos: 0, mutations: 1 });
    assert_eq!(server_report_ids(&server, &alice).await, BTreeSet::from([report]));
}

/// A phone uploading in small chunks, so a cut lands in the middle of a photo.
async fn small_chunk_phone(server: &SyncServer) -> Phone {
    let mut config = config(server);
    config.upload_chunk_size = 32 * 1024;
    Phone::with_config(config).await
}

/// A report with one photo big enough to be cut several chunks in.
async fn capture_big(phone: &Phone) -> (ReportId, u64) {
    let draft = ReportDraft {
        category: "cleaning".into(),
        location: LatLon::new(GLDANI.0, GLDANI.1).unwrap(),
        description: "a big photo on a bad line".into(),
        address: None,
        hide_name: false,
        photos: vec![jpeg(1600, 1200, 9)],
    };
    let id = phone.client.create_report(draft).await.expect("capturing").report_id;
    let size = phone.client.report(id).await.unwrap().local_photos[0].size as u64;
    assert!(size > 150_000, "the photo must span several chunks: {size} bytes");
    (id, size)
}

async fn an_upload_cut_at_30_percent_resumes_with_only_the_tail(backend: Backend) {
    let server = SyncServer::start(backend, |_| {}).await;
    let probe = server.probe().await;
    let alice = resident(&server).await;
    let phone = small_chunk_phone(&server).await;
    phone.login(&alice).await;
    phone.sync().await;
    let (id, size) = capture_big(&phone).await;

    // The push goes through; the photo's upload is cut 30 % into the file. The phone resumes
    // from the server's offset: every whole chunk before the cut was acknowledged (each carries
    // its checksum, so the cut chunk's fragment is discarded), and only the rest is sent again.
    let cut = size * 3 / 10;
    let chunk = 32 * 1024;
    let acknowledged = cut / chunk * chunk;
    server.proxy.cut_upload_after(cut);
    phone.sync().await;
    assert_eq!(server.proxy.faults_fired(), 1, "the upload was cut");
    let resent = server.proxy.upload_body_bytes() - cut;
    eprintln!("photo {size} B, cut at {cut}, acknowledged {acknowledged}, re-sent {resent}");
    assert_eq!(resent, size - acknowledged, "only the unacknowledged tail is sent again");
    assert_eq!(server_pending_photos(&server, id).await, 0);
    assert_eq!(stored(&probe).await, Stored { reports: 1, photos: 1, mutations: 1 });
    let mine = phone.client.report(id).await.unwrap();
    assert_eq!((mine.photos.len(), mine.server_pending_photos), (1, 0), "{mine:?}");
}

async fn a_corrupted_chunk_is_refused_and_sent_again(backend: Backend) {
    let server = SyncServer::start(backend, |_| {}).await;
    let probe = server.probe().await;
    let alice = resident(&server).await;
    let phone = small_chunk_phone(&server).await;
    phone.login(&alice).await;
    phone.sync().await;
    let (id, size) = capture_big(&phone).await;

    // One byte of the second chunk is flipped on the way: its checksum no longer matches, the
    // server discards that chunk (460), and the phone sends it again.
    server.proxy.corrupt_upload_byte(40 * 1024);
    phone.sync().await;
    assert_eq!(server.proxy.faults_fired(), 1);
    assert_eq!(server.proxy.upload_body_bytes(), size + 32 * 1024, "exactly one chunk was sent twice");
    assert_eq!(server_pending_photos(&server, id).await, 0);
    assert_eq!(stored(&probe).await, Stored { reports: 1, photos: 1, mutations: 1 });
}

/// How many promised photos of a report the server still waits for (its public view).
async fn server_pending_photos(server: &SyncServer, id: ReportId) -> u64 {
    let detail: serde_json::Value = reqwest::get(format!("{}/api/reports/{id}", server.direct_url()))
        .await
        .expect("the report")
        .json()
        .await
        .expect("JSON");
    detail["photos_pending"].as_u64().unwrap_or_else(|| panic!("photos_pending in {detail}"))
}

async fn a_server_restarted_mid_sync_loses_nothing(backend: Backend) {
    let mut server = SyncServer::start(backend, |_| {}).await;
    let alice = resident(&server).await;
    let phone = Phone::new(&server).await;
    phone.login(&alice).await;
    phone.sync().await;
    let mut ids = BTreeSet::new();
    for n in 0..40 {
        ids.insert(phone.capture(n, 1).await);
    }
    // Sync in the background and kill the server while it runs.
    let syncing = {
        let client = phone.client.clone();
        tokio::spawn(async move { client.sync_once().await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    server.restart().await;
    let _ = syncing.await;
    // The next syncs finish the job.
    phone.client.sync_once().await.ok();
    phone.sync().await;
    let probe = server.probe().await;
    assert_eq!(stored(&probe).await, Stored { reports: 40, photos: 40, mutations: 40 });
    assert_eq!(phone.synced_report_ids().await, ids);
    assert_eq!(server_report_ids(&server, &alice).await, ids);
}

async fn a_server_restored_from_an_older_backup_gets_back_what_it_lost(backend: Backend) {
    let mut server = SyncServer::start(backend, |_| {}).await;
    let alice = resident(&server).await;
    let phone = Phone::new(&server).await;
    phone.login(&alice).await;
    phone.sync().await;
    let mut ids = BTreeSet::new();
    for n in 0..5 {
        ids.insert(phone.capture(n, 1).await);
    }
    phone.sync().await;
    let backup = server.backup().await;
    for n in 5..10 {
        ids.insert(phone.capture(n, 1).await);
    }
    phone.sync().await;
    assert_eq!(server_report_ids(&server, &alice).await, ids);

    // The database is lost and restored from the backup: five reports and their photos are gone
    // from the server, but the phone still has them.
    server.restore(&backup).await;
    assert_eq!(server_report_ids(&server, &alice).await.len(), 5);
    // One more report is captured meanwhile; it is pushed (to the restored server) before the
    // phone learns of the restore at its pull, and must not be pushed twice.
    ids.insert(phone.capture(10, 1).await);
    let summary = phone.client.sync_once().await.expect("a sync after the restore");
    assert!(summary.snapshot, "a new epoch means a snapshot: {summary:?}");
    assert_eq!(
        summary.requeued, 10,
        "what the old history acknowledged is pushed again, not what the new one did: {summary:?}"
    );
    phone.sync().await;
    let probe = server.probe().await;
    assert_eq!(stored(&probe).await, Stored { reports: 11, photos: 11, mutations: 11 });
    assert_eq!(server_report_ids(&server, &alice).await, ids);
    assert_eq!(phone.synced_report_ids().await, ids);
}

async fn a_reinstalled_app_and_a_second_device_of_the_same_user(backend: Backend) {
    let server = SyncServer::start(backend, |_| {}).await;
    let alice = resident(&server).await;
    let phone = Phone::new(&server).await;
    phone.login(&alice).await;
    phone.sync().await;
    let mut ids = BTreeSet::new();
    for n in 0..3 {
        ids.insert(phone.capture(n, 1).await);
    }
    // The OS backs up the app's database while three reports are still queued; then they sync.
    let backup = phone.dir.path().join("backup.db");
    copy_database(&phone.db, &backup);
    phone.sync().await;

    // The app is reinstalled and the backup restored: the same queue, a new installation id.
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let db = dir.path().join("phone.db");
    copy_database(&backup, &db);
    let mut reinstalled_config = config(&server);
    reinstalled_config.installation_id = Some(uuid::Uuid::now_v7());
    let reinstalled = Phone { client: Client::open_with(&db, reinstalled_config).await.unwrap(), db, dir };
    assert_ne!(reinstalled.client.device_id().unwrap(), phone.client.device_id().unwrap());
    assert_eq!(reinstalled.client.sync_status().await.unwrap().pending_items, 3, "the restored queue");
    reinstalled.login(&alice).await;
    reinstalled.sync().await;

    // A second device of the same user captures one more.
    let tablet = Phone::new(&server).await;
    tablet.login(&alice).await;
    tablet.sync().await;
    ids.insert(tablet.capture(99, 1).await);
    tablet.sync().await;
    phone.sync().await;
    reinstalled.sync().await;

    let probe = server.probe().await;
    assert_eq!(stored(&probe).await, Stored { reports: 4, photos: 4, mutations: 4 }, "nothing applied twice");
    assert_eq!(server_report_ids(&server, &alice).await, ids);
    for device in [&phone, &reinstalled, &tablet] {
        assert_eq!(device.synced_report_ids().await, ids, "every device of the user sees all four");
    }
}

async fn capture_works_with_an_expired_token_and_push_waits_for_login(backend: Backend) {
    let server = SyncServer::start(backend, |_| {}).await;
    let probe = server.probe().await;
    let alice = resident(&server).await;
    let phone = Phone::new(&server).await;
    phone.login(&alice).await;
    phone.sync().await;

    // Months offline: the access token and the refresh token both expire.
    server.proxy.set_offline(true);
    server.clock.advance(Duration::days(120));
    let id = phone.capture(1, 1).await;
    let queued = phone.client.my_reports().await.unwrap();
    assert_eq!(queued.len(), 1);
    assert!(queued[0].pending, "captured offline, queued: {:?}", queued[0]);

    server.proxy.set_offline(false);
    let _ = phone.client.sync_once().await;
    let status = phone.client.sync_status().await.unwrap();
    assert!(status.needs_login, "the expired session asks for a sign-in: {status:?}");
    assert_eq!(status.pending_items, 1, "and keeps the report queued");
    assert_eq!(stored(&probe).await.reports, 0);

    phone.login(&alice).await;
    phone.sync().await;
    assert_eq!(stored(&probe).await, Stored { reports: 1, photos: 1, mutations: 1 });
    assert_eq!(phone.synced_report_ids().await, BTreeSet::from([id]));
}

async fn a_hundred_phones_with_fifty_reports_each(backend: Backend) {
    const PHONES: usize = 100;
    const REPORTS: usize = 50;
    let server = SyncServer::start(backend, |_| {}).await;
    let mut phones = Vec::new();
    for _ in 0..PHONES {
        let account = resident(&server).await;
        let phone = Phone::new(&server).await;
        phone.login(&account).await;
        phones.push((account, phone));
    }
    // Every tenth report is pinned in Rustavi, outside the city: captured before the phones have
    // reference data, so only the server can refuse it — refusals interleave with acceptances.
    let mut expected = Vec::new();
    for (p, (_, phone)) in phones.iter().enumerate() {
        let mut ids = BTreeSet::new();
        for n in 0..REPORTS {
            if n % 10 == 9 {
                phone.capture_at(p * REPORTS + n, 1, (41.5495, 44.9930)).await;
            } else {
                ids.insert(phone.capture(p * REPORTS + n, 1).await);
            }
        }
        expected.push(ids);
    }
    let syncs = phones.iter().map(|(_, phone)| phone.sync());
    futures::future::join_all(syncs).await;

    let probe = server.probe().await;
    let accepted = (PHONES * REPORTS * 9 / 10) as i64;
    let all = (PHONES * REPORTS) as i64;
    assert_eq!(stored(&probe).await, Stored { reports: accepted, photos: accepted, mutations: all });
    for ((account, phone), ids) in phones.iter().zip(&expected) {
        assert_eq!(&phone.synced_report_ids().await, ids);
        assert_eq!(&server_report_ids(&server, account).await, ids);
        let refused: Vec<_> = phone.client.outbox().await.unwrap().into_iter().filter_map(|i| i.rejection).collect();
        assert_eq!(refused.len(), REPORTS / 10, "each phone shows its refusals");
        assert!(refused.iter().all(|r| r.code == "outside_tbilisi"), "{refused:?}");
    }
}
