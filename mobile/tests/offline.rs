//! The phone without a server: capturing, previews, overlays and the outbox, as a user sees
//! them. Nothing here needs the network; syncing against an address where nothing listens shows
//! what a phone does offline.

mod common;

use common::*;
use smartmap_mobile::store::meta;
use smartmap_mobile::{Error, OutboxState, ProofPhoto, ReportDraft};
use smartmap_shared::geo::LatLon;
use smartmap_shared::ids::ReportId;
use smartmap_shared::sync::{Outcome, PushResult, Rejection};

fn at((lat, lon): (f64, f64)) -> LatLon {
    LatLon::new(lat, lon).unwrap()
}

fn draft(photos: Vec<Vec<u8>>) -> ReportDraft {
    ReportDraft {
        category: "street-lighting".into(),
        location: at(GLDANI),
        description: "The street light by the school is out".into(),
        address: Some("Khizanishvili St 12".into()),
        hide_name: false,
        photos,
    }
}

#[tokio::test]
async fn before_reference_data_arrives_previews_say_so_but_a_report_can_still_be_queued() {
    let phone = phone_with(&dead_server(), |_| {}).await;
    let err = phone.client.preview("street-lighting", at(GLDANI)).await.unwrap_err();
    assert!(matches!(err, Error::NotYetSynced), "{err}");
    assert!(phone.client.categories().await.unwrap().is_empty());

    let queued = phone.client.create_report(draft(vec![])).await.unwrap();
    assert!(queued.preview.is_none());
    let mine = phone.client.my_reports().await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!((mine[0].status.as_str(), mine[0].district.as_deref()), ("queued", None));
    assert!(!phone.client.sync_status().await.unwrap().reference_synced);
}

#[tokio::test]
async fn a_report_captured_offline_and_signed_out_shows_as_queued_with_its_preview() {
    let phone = phone_with(&dead_server(), |db| seed_snapshot(db, reference_entities())).await;
    let categories = phone.client.categories().await.unwrap();
    assert_eq!(categories.len(), 4);
    let preview = phone.client.preview("street-lighting", at(GLDANI)).await.unwrap();
    assert_eq!((preview.district.as_str(), preview.body.as_str()), ("gldani", "city-hall-infrastructure"));
    assert_eq!(preview.district_name.en, "Gldani");
    // Tuesday 09:00 + 3 working days → Friday 18:00 Tbilisi.
    assert_eq!(preview.deadline.to_rfc3339(), "2026-03-13T14:00:00+00:00");

    // No account, no network: capture works all the same.
    let queued = phone.client.create_report(draft(vec![jpeg(64, 48, false)])).await.unwrap();
    assert_eq!(queued.preview.as_ref(), Some(&preview));
    assert_eq!(queued.queued.device_seq, 1);
    let comment = phone.client.comment(queued.report_id, "It is dark all night").await.unwrap();
    assert_eq!(comment.device_seq, 2);

    let mine = phone.client.my_reports().await.unwrap();
    assert_eq!(mine.len(), 1);
    let report = &mine[0];
    assert_eq!(report.id, queued.report_id);
    assert_eq!(report.status, "queued");
    assert!(report.pending && report.number.is_none());
    assert_eq!(report.body.as_deref(), Some("city-hall-infrastructure"));
    assert_eq!(report.body_name.as_ref().map(|n| n.en.as_str()), Some(preview.body_name.en.as_str()));
    assert_eq!(report.deadline, Some(preview.deadline));
    assert_eq!(report.local_photos.len(), 1);
    assert!(!report.local_photos[0].done);
    let comment_entry = report.timeline.iter().find(|e| e.action == "comment").expect("the pending comment");
    assert!(comment_entry.pending && comment_entry.by_me);
    assert_eq!(comment_entry.note.as_deref(), Some("It is dark all night"));
    assert_eq!(phone.client.report(queued.report_id).await.unwrap(), *report);

    let outbox = phone.client.outbox().await.unwrap();
    assert_eq!(outbox.iter().map(|i| i.kind.as_str()).collect::<Vec<_>>(), vec!["report.create", "report.comment"]);
    assert_eq!(outbox[0].photos_total, 1);

    // Syncing signed out: "sign in", and nothing is lost.
    let err = phone.client.sync_once().await.unwrap_err();
    assert!(matches!(err, Error::NeedsLogin), "{err}");
    let status = phone.client.sync_status().await.unwrap();
    assert!(status.needs_login && !status.signed_in);
    assert_eq!(status.pending_items, 2);
    assert!(status.pending_bytes > 1000, "the photo counts: {}", status.pending_bytes);
    assert!(phone.client.outbox().await.unwrap().iter().all(|i| i.state == OutboxState::Pending));
}

#[tokio::test]
async fn photos_are_prepared_on_the_phone_without_exif_and_at_most_2048_pixels() {
    let phone = phone_with(&dead_server(), |db| seed_snapshot(db, reference_entities())).await;
    let original = jpeg(3000, 2000, true);
    assert!(original.windows(6).any(|w| w == b"Exif\0\0"), "the test photo carries EXIF");
    assert!(jpeg_markers(&original).contains(&0xE1));

    let queued = phone.client.create_report(draft(vec![original])).await.unwrap();
    let store = phone.store();
    let photos = store.photos_of_report(queued.report_id.0).unwrap();
    assert_eq!(photos.len(), 1);
    let prepared = store.photo_jpeg(photos[0].id).unwrap().unwrap();
    assert!(!prepared.windows(4).any(|w| w == b"Exif"), "EXIF survived");
    let markers = jpeg_markers(&prepared);
    assert!(!markers.iter().any(|m| (0xE1..=0xEF).contains(m)), "an APPn segment other than JFIF: {markers:x?}");
    let decoded = image::load_from_memory(&prepared).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (2048, 1365));
    assert_eq!(photos[0].sha256, smartmap_shared::sync::sha256_hex(&prepared));
    assert_eq!(photos[0].size as usize, prepared.len());

    // The mutation promises exactly that file.
    let row = store.outbox_rows().unwrap().pop().unwrap();
    assert_eq!(row.mutation.payload["photos"][0]["sha256"], photos[0].sha256);
    assert_eq!(row.mutation.payload["photos"][0]["size"], prepared.len());

    let bad = phone.client.create_report(draft(vec![b"not a photo".to_vec()])).await.unwrap_err();
    assert!(matches!(bad, Error::Photo { index: 0, .. }), "{bad}");
}

#[tokio::test]
async fn a_proof_photo_outside_the_geofence_warns_but_the_closure_is_queued() {
    let ticket = ReportId::new_v7();
    let phone = phone_with(&dead_server(), |db| {
        let mut entities = reference_entities();
        entities.push(synced_report(ticket, GLDANI, false, true));
        seed_snapshot(db, entities)
    })
    .await;
    let near = ProofPhoto { bytes: jpeg(64, 48, false), taken_at: at((41.8036, 44.8291)) }; // ~100 m
    let far = ProofPhoto { bytes: jpeg(64, 48, false), taken_at: at((41.8047, 44.8291)) }; // ~222 m
    let queued = phone.client.close_ticket(ticket, Some("Replaced the lamp".into()), vec![near, far]).await.unwrap();
    assert_eq!(queued.warnings.len(), 1);
    let warning = &queued.warnings[0];
    assert_eq!(warning.index, 1);
    assert!((warning.distance_m - 222.0).abs() < 3.0, "{}", warning.distance_m);
    assert_eq!(warning.limit_m, 150.0);

    let tickets = phone.client.my_tickets().await.unwrap();
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0].status, "in_progress", "the server decides the status");
    let close = tickets[0].timeline.last().unwrap();
    assert_eq!((close.action.as_str(), close.pending), ("close", true));
    assert_eq!(tickets[0].local_photos.iter().filter(|p| p.kind == "proof").count(), 2);
    let row = phone.store().outbox_rows().unwrap().pop().unwrap();
    assert_eq!(row.mutation.payload["proof"][1]["taken_at"]["lat"], 41.8047);

    let none = phone.client.close_ticket(ticket, None, vec![]).await.unwrap_err();
    assert!(matches!(none, Error::InvalidInput(_)));
}

#[tokio::test]
async fn a_rejected_comment_shows_its_reason_on_the_timeline_and_a_queued_follow_counts() {
    let report = ReportId::new_v7();
    let phone = phone_with(&dead_server(), |db| {
        let mut entities = reference_entities();
        entities.push(synced_report(report, GLDANI, false, false));
        seed_snapshot(db, entities)
    })
    .await;
    let refused = phone.client.comment(report, "spam spam").await.unwrap();
    phone.client.follow(report, true).await.unwrap();

    // The server's answer to the first push, recorded as the engine records it.
    let mut store = phone.store();
    let batch = store.take_batch(start(), 1).unwrap();
    let rejection = Rejection {
        code: "comment_refused".into(),
        message: "Comments on this report are closed".into(),
        message_ka: "კომენტარები დახურულია".into(),
        field: Some("text".into()),
    };
    let result = PushResult { mutation_id: refused.mutation_id, outcome: Outcome::Rejected(rejection.clone()) };
    store.record_outcomes(&[batch[0].mutation_id], &[result], Some("e1"), start()).unwrap();

    let view = phone.client.report(report).await.unwrap();
    assert!(view.following, "the queued follow already shows");
    assert!(view.pending);
    let entry = view.timeline.iter().find(|e| e.action == "comment").unwrap();
    assert!(!entry.pending);
    assert_eq!(entry.rejection.as_ref().map(|r| r.message_ka.as_str()), Some("კომენტარები დახურულია"));
    let outbox = phone.client.outbox().await.unwrap();
    assert_eq!(outbox[0].state, OutboxState::Rejected);
    assert_eq!(outbox[0].rejection.as_ref().map(|r| r.code.as_str()), Some("comment_refused"));
    assert_eq!(outbox[1].state, OutboxState::Pending);
}

#[tokio::test]
async fn a_push_that_cannot_reach_the_server_goes_back_to_pending_with_a_backoff() {
    let phone = phone_with(&dead_server(), |db| {
        seed_snapshot(db, reference_entities());
        let mut store = smartmap_mobile::store::Store::open(db).unwrap();
        // Signed in earlier: a token valid for an hour.
        store
            .set_meta_many(&[
                (meta::ACCESS_TOKEN, Some("access")),
                (meta::ACCESS_EXPIRES_AT, Some("2026-03-10T06:00:00Z")),
                (meta::REFRESH_TOKEN, Some("refresh")),
                (meta::REFRESH_EXPIRES_AT, Some("2026-04-10T06:00:00Z")),
                (meta::ACCOUNT, Some(r#"{"email":"nino@example.ge","role":"resident"}"#)),
            ])
            .unwrap();
    })
    .await;
    let account = phone.client.account().await.unwrap().unwrap();
    assert_eq!(account.email.as_deref(), Some("nino@example.ge"));
    let queued = phone.client.create_report(draft(vec![])).await.unwrap();
    let mut finished = phone.client.subscribe_finished();

    let err = phone.client.sync_once().await.unwrap_err();
    assert!(matches!(err, Error::Network(_)), "{err}");
    // The failed attempt is announced (the app refreshes its lists on it).
    let announced = finished.try_recv().unwrap();
    assert!(!announced.ok && announced.summary.is_none(), "{announced:?}");
    assert_eq!(announced.error, Some(err.to_string()));
    let item = phone.client.outbox().await.unwrap().pop().unwrap();
    assert_eq!((item.state, item.attempts), (OutboxState::Pending, 1));
    let cap = chrono::Duration::from_std(smartmap_mobile::backoff::Backoff::default().cap(1)).unwrap();
    assert!(item.next_attempt_at >= start() && item.next_attempt_at <= start() + cap, "{}", item.next_attempt_at);
    assert!(item.last_error.is_some());
    let status = phone.client.sync_status().await.unwrap();
    assert!(status.last_error.is_some() && !status.needs_login && status.signed_in);
    assert_eq!(phone.client.report(queued.report_id).await.unwrap().status, "queued");

    // "Send now" lifts the hold and tries again at once (and fails again, offline).
    assert!(matches!(phone.client.sync_now().await, Err(Error::Network(_))));
    assert!(!finished.try_recv().unwrap().ok, "sync_now is announced too");
    let item = phone.client.outbox().await.unwrap().pop().unwrap();
    assert_eq!((item.state, item.attempts), (OutboxState::Pending, 2));
}

#[tokio::test]
async fn a_restart_puts_an_interrupted_send_back_in_the_queue() {
    let dir_phone = phone_with(&dead_server(), |db| seed_snapshot(db, reference_entities())).await;
    let queued = dir_phone.client.create_report(draft(vec![])).await.unwrap();
    // The engine marked it in flight, then the app was killed.
    dir_phone.store().take_batch(start(), 10).unwrap();
    assert_eq!(dir_phone.client.outbox().await.unwrap()[0].state, OutboxState::InFlight);
    assert_eq!(dir_phone.client.report(queued.report_id).await.unwrap().status, "sending");

    let reopened = smartmap_mobile::Client::open(&dir_phone.db, &dead_server()).await.unwrap();
    assert_eq!(reopened.outbox().await.unwrap()[0].state, OutboxState::Pending);
    assert_eq!(reopened.report(queued.report_id).await.unwrap().status, "queued");
}

#[tokio::test]
async fn the_background_loop_wakes_on_a_capture_and_stops_on_shutdown() {
    let phone = phone_with(&dead_server(), |db| seed_snapshot(db, reference_entities())).await;
    let mut progress = phone.client.subscribe();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let client = phone.client.clone();
    let running = tokio::spawn(async move {
        client
            .run(async move {
                let _ = stopped.await;
            })
            .await
    });
    // The first pass ends at once (signed out); a capture wakes the loop for another.
    tokio::time::timeout(std::time::Duration::from_secs(5), progress.recv()).await.unwrap().unwrap();
    phone.client.create_report(draft(vec![])).await.unwrap();
    let event = tokio::time::timeout(std::time::Duration::from_secs(5), progress.recv()).await.unwrap().unwrap();
    assert_eq!(event.phase, smartmap_mobile::SyncPhase::Idle);
    assert!(phone.client.sync_status().await.unwrap().last_error.unwrap().contains("sign in"));
    stop.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), running).await.unwrap().unwrap();
}

/// The Tauri shell runs commands on a multi-threaded runtime: every API future must be `Send`.
#[allow(dead_code, clippy::let_underscore_future)]
fn the_api_futures_are_send(client: smartmap_mobile::Client) {
    fn send<T: Send>(_: T) {}
    let id = ReportId::new_v7();
    send(client.login("a", "b"));
    send(client.logout());
    send(client.account());
    send(client.categories());
    send(client.preview("x", at(GLDANI)));
    send(client.create_report(draft(vec![])));
    send(client.comment(id, "x"));
    send(client.follow(id, true));
    send(client.dispute(id, "x"));
    send(client.close_ticket(id, None, vec![]));
    send(client.my_reports());
    send(client.my_tickets());
    send(client.report(id));
    send(client.outbox());
    send(client.sync_status());
    send(client.sync_once());
    send(client.sync_now());
    send(client.run(async {}));
}
