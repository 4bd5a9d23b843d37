//! The store on its own: migrations, the outbox's order and life, crash recovery, and applying
//! the change feed atomically and version-guarded.

use super::*;
use crate::store::outbox::{NewPhoto, OutboxState};
use serde_json::json;
use smartmap_shared::ids::ReportId;
use smartmap_shared::sync::{
    Change, Comment, Cursor, EntityKind, MutationKind, Outcome, PullPage, PushResult, Rejection, Snapshot,
};

fn temp() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.db");
    (dir, path)
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn comment(store: &mut Store, report: ReportId, text: &str) -> smartmap_shared::sync::Mutation {
    store
        .enqueue(
            MutationKind::Comment,
            &Comment { report_id: report, text: text.into() },
            Some(report.0),
            vec![],
            t("2026-03-10T05:00:00Z"),
        )
        .unwrap()
}

fn cursor(epoch: &str, seq: i64) -> Cursor {
    Cursor { epoch: epoch.into(), seq }
}

pub(crate) fn synced_report_json(id: ReportId, version: i64, description: &str) -> serde_json::Value {
    json!({
        "id": id, "number": 7, "category": "pothole", "district": "gldani", "body": "gldani-gamgeoba",
        "status": "routed", "location": {"lat": 41.8027, "lon": 44.8291}, "description": description,
        "address": null, "created_at": "2026-03-10T05:00:00Z", "deadline": "2026-03-13T14:00:00Z",
        "closed_at": null, "overdue": false, "photos": [], "pending_photos": [], "timeline": [],
        "mine": true, "assigned_to_me": false, "following": true,
        "updated_at": "2026-03-10T05:00:00Z", "version": version
    })
}

fn report_change(seq: i64, id: ReportId, version: i64, description: &str) -> Change {
    Change {
        seq,
        entity: EntityKind::Report,
        id: id.to_string(),
        version,
        deleted: false,
        data: Some(synced_report_json(id, version, description)),
    }
}

fn page(changes: Vec<Change>, cursor: Cursor) -> PullPage {
    PullPage { changes, cursor, has_more: false, server_time: t("2026-03-10T05:00:00Z") }
}

#[test]
fn a_fresh_file_is_migrated_once_and_a_newer_one_is_refused() {
    let (_dir, path) = temp();
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::MIGRATIONS.len() as i64);
    let journal: String = store.conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(journal, "wal");
    let sync: i64 = store.conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
    assert_eq!(sync, 2, "synchronous=FULL");
    let device = store.device_id().unwrap();
    drop(store);

    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::MIGRATIONS.len() as i64);
    assert_eq!(store.device_id().unwrap(), device, "the device id is minted once");
    store.conn.pragma_update(None, "user_version", 999).unwrap();
    drop(store);
    assert!(matches!(Store::open(&path), Err(Error::SchemaTooNew { found: 999, .. })));
}

#[test]
fn mutations_leave_in_capture_order_with_increasing_device_seq_across_restarts() {
    let (_dir, path) = temp();
    let report = ReportId::new_v7();
    let mut store = Store::open(&path).unwrap();
    let a = comment(&mut store, report, "one");
    let b = comment(&mut store, report, "two");
    drop(store);
    let mut store = Store::open(&path).unwrap();
    let c = comment(&mut store, report, "three");
    assert_eq!((a.device_seq, b.device_seq, c.device_seq), (1, 2, 3));
    assert!(a.hash_matches() && c.hash_matches());

    let batch = store.take_batch(t("2026-03-10T06:00:00Z"), 2).unwrap();
    assert_eq!(batch.iter().map(|m| m.device_seq).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(batch[0], a, "the stored mutation is exactly the one queued (same hash, same device id)");
    let rest = store.take_batch(t("2026-03-10T06:00:00Z"), 100).unwrap();
    assert_eq!(rest.iter().map(|m| m.device_seq).collect::<Vec<_>>(), vec![3]);
    assert!(store.take_batch(t("2026-03-10T06:00:00Z"), 100).unwrap().is_empty(), "in-flight rows are not taken twice");
}

#[test]
fn what_was_in_flight_when_the_app_died_is_pending_again_on_open() {
    let (_dir, path) = temp();
    let mut store = Store::open(&path).unwrap();
    let m = comment(&mut store, ReportId::new_v7(), "sent just before the crash");
    assert_eq!(store.take_batch(t("2026-03-10T06:00:00Z"), 10).unwrap().len(), 1);
    assert_eq!(store.outbox_row(m.mutation_id).unwrap().unwrap().state, OutboxState::InFlight);
    drop(store); // the app is killed: no answer was recorded

    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.outbox_row(m.mutation_id).unwrap().unwrap().state, OutboxState::Pending);
    let again = store.take_batch(t("2026-03-10T06:00:00Z"), 10).unwrap();
    assert_eq!(again, vec![m], "resent with the same id and hash, so the server dedupes it");
}

#[test]
fn a_rejection_is_final_and_does_not_hold_back_the_next_item() {
    let (_dir, path) = temp();
    let mut store = Store::open(&path).unwrap();
    let report = ReportId::new_v7();
    let bad = comment(&mut store, report, "refused");
    let good = comment(&mut store, report, "fine");
    let now = t("2026-03-10T06:00:00Z");
    let batch = store.take_batch(now, 10).unwrap();
    let ids: Vec<_> = batch.iter().map(|m| m.mutation_id).collect();
    let results = vec![
        PushResult {
            mutation_id: bad.mutation_id,
            outcome: Outcome::Rejected(Rejection {
                code: "report_closed".into(),
                message: "The report is closed".into(),
                message_ka: "განცხადება დახურულია".into(),
                field: Some("report_id".into()),
            }),
        },
        PushResult { mutation_id: good.mutation_id, outcome: Outcome::Applied { result: json!({"ok": true}) } },
    ];
    store.record_outcomes(&ids, &results, Some("e1"), now).unwrap();

    let bad_row = store.outbox_row(bad.mutation_id).unwrap().unwrap();
    assert_eq!(bad_row.state, OutboxState::Rejected);
    let rejection = bad_row.rejection.unwrap();
    assert_eq!((rejection.code.as_str(), rejection.field.as_deref()), ("report_closed", Some("report_id")));
    assert_eq!(rejection.message_ka, "განცხადება დახურულია");
    let good_row = store.outbox_row(good.mutation_id).unwrap().unwrap();
    assert_eq!((good_row.state, good_row.acked_epoch.as_deref()), (OutboxState::Acked, Some("e1")));

    let later = comment(&mut store, report, "after");
    let next = store.take_batch(now, 10).unwrap();
    assert_eq!(next, vec![later], "the rejected item is never sent again and blocks nothing");
}

#[test]
fn a_batch_without_an_answer_goes_back_to_pending_and_waits_for_its_backoff() {
    let (_dir, path) = temp();
    let mut store = Store::open(&path).unwrap();
    let m = comment(&mut store, ReportId::new_v7(), "x");
    let now = t("2026-03-10T06:00:00Z");
    let ids: Vec<_> = store.take_batch(now, 10).unwrap().iter().map(|m| m.mutation_id).collect();
    let retry_at = now + chrono::Duration::seconds(30);
    store.release_batch(&ids, Some(retry_at), "the server answered 503").unwrap();
    let row = store.outbox_row(m.mutation_id).unwrap().unwrap();
    assert_eq!((row.state, row.attempts, row.next_attempt_at), (OutboxState::Pending, 1, retry_at));
    assert_eq!(row.last_error.as_deref(), Some("the server answered 503"));
    assert!(store.take_batch(now + chrono::Duration::seconds(29), 10).unwrap().is_empty());
    // Captured meanwhile: due at once, but it never overtakes the held-back one.
    let later = comment(&mut store, ReportId::new_v7(), "y");
    assert!(store.take_batch(now + chrono::Duration::seconds(29), 10).unwrap().is_empty());
    assert_eq!(store.take_batch(retry_at, 10).unwrap(), vec![m, later]);
}

#[test]
fn a_page_is_applied_with_its_cursor_or_not_at_all() {
    let (_dir, path) = temp();
    let mut store = Store::open(&path).unwrap();
    let first = ReportId::new_v7();
    store.apply_page(&page(vec![report_change(1, first, 1, "first")], cursor("e1", 1))).unwrap();

    // A page whose second change is malformed fails mid-apply: its first change must not stay.
    let second = ReportId::new_v7();
    let broken = Change {
        seq: 3,
        entity: EntityKind::Report,
        id: "broken".into(),
        version: 1,
        deleted: false,
        data: Some(json!({"not": "a report"})),
    };
    let err = store.apply_page(&page(vec![report_change(2, second, 1, "second"), broken], cursor("e1", 3)));
    assert!(matches!(err, Err(Error::Corrupt(_))), "{err:?}");
    assert!(store.synced_report(second.0).unwrap().is_none(), "half a page was stored");
    assert_eq!(store.cursor().unwrap(), Some(cursor("e1", 1)), "the cursor moved without its page");
    assert!(store.synced_report(first.0).unwrap().is_some());
}

#[test]
fn an_upsert_never_replaces_a_newer_version_and_a_tombstone_deletes() {
    let (_dir, path) = temp();
    let mut store = Store::open(&path).unwrap();
    let id = ReportId::new_v7();
    store.apply_page(&page(vec![report_change(5, id, 3, "version 3")], cursor("e1", 5))).unwrap();
    store.apply_page(&page(vec![report_change(4, id, 2, "version 2, late")], cursor("e1", 6))).unwrap();
    assert_eq!(store.synced_report(id.0).unwrap().unwrap().description, "version 3");
    assert_eq!(store.version_of(EntityKind::Report, &id.to_string()).unwrap(), Some(3));
    store.apply_page(&page(vec![report_change(7, id, 3, "version 3 again")], cursor("e1", 7))).unwrap();
    assert_eq!(store.synced_report(id.0).unwrap().unwrap().description, "version 3 again", "re-applying is harmless");

    let tombstone =
        Change { seq: 8, entity: EntityKind::Report, id: id.to_string(), version: 4, deleted: true, data: None };
    store.apply_page(&page(vec![tombstone], cursor("e1", 8))).unwrap();
    assert!(store.synced_report(id.0).unwrap().is_none());
    assert_eq!(store.cursor().unwrap(), Some(cursor("e1", 8)));
}

fn photo(sha: &str) -> NewPhoto {
    NewPhoto {
        kind: "report",
        jpeg: vec![0xFF, 0xD8, 1, 2, 3],
        thumb: vec![0xFF, 0xD8],
        sha256: sha.into(),
        taken_at: None,
    }
}

#[test]
fn a_snapshot_of_a_new_epoch_requeues_what_another_epoch_acknowledged() {
    let (_dir, path) = temp();
    let mut store = Store::open(&path).unwrap();
    let now = t("2026-03-10T06:00:00Z");
    let report = ReportId::new_v7();
    let old = store
        .enqueue(
            MutationKind::Comment,
            &Comment { report_id: report, text: "old".into() },
            Some(report.0),
            vec![photo("aa")],
            now,
        )
        .unwrap();
    let same = comment(&mut store, report, "same epoch");
    let ids: Vec<_> = store.take_batch(now, 10).unwrap().iter().map(|m| m.mutation_id).collect();
    let applied = |id| PushResult { mutation_id: id, outcome: Outcome::Applied { result: json!({}) } };
    store.record_outcomes(&ids[..1], &[applied(old.mutation_id)], Some("old-epoch"), now).unwrap();
    store.record_outcomes(&ids[1..], &[applied(same.mutation_id)], Some("new-epoch"), now).unwrap();
    let uploaded = store.photos_to_upload().unwrap();
    assert_eq!(uploaded.len(), 1);
    store.set_upload_url(uploaded[0].id, "http://server/api/uploads/1").unwrap();
    store.mark_uploaded(uploaded[0].id).unwrap();
    let stale = ReportId::new_v7();
    store.apply_page(&page(vec![report_change(1, stale, 1, "from the old history")], cursor("old-epoch", 1))).unwrap();

    let snapshot = Snapshot {
        entities: vec![report_change(9, report, 1, "restored")],
        cursor: cursor("new-epoch", 9),
        server_time: now,
    };
    assert_eq!(store.apply_snapshot(&snapshot).unwrap(), 1);
    assert_eq!(store.outbox_row(old.mutation_id).unwrap().unwrap().state, OutboxState::Pending);
    assert_eq!(store.outbox_row(same.mutation_id).unwrap().unwrap().state, OutboxState::Acked);
    let photos = store.photos_of_mutation(old.mutation_id).unwrap();
    assert!(!photos[0].done && photos[0].upload_url.is_none(), "its upload starts over");
    assert!(store.synced_report(stale.0).unwrap().is_none(), "the snapshot replaces synced state");
    assert!(store.synced_report(report.0).unwrap().is_some());
    assert_eq!(store.cursor().unwrap(), Some(cursor("new-epoch", 9)));
}

#[test]
fn acknowledged_mutations_are_kept_for_the_retention_period_then_pruned() {
    let (_dir, path) = temp();
    let mut store = Store::open(&path).unwrap();
    let now = t("2026-03-10T06:00:00Z");
    let m = comment(&mut store, ReportId::new_v7(), "x");
    let ids: Vec<_> = store.take_batch(now, 10).unwrap().iter().map(|m| m.mutation_id).collect();
    store
        .record_outcomes(
            &ids,
            &[PushResult { mutation_id: m.mutation_id, outcome: Outcome::Applied { result: json!({}) } }],
            Some("e"),
            now,
        )
        .unwrap();
    assert_eq!(store.prune(now - chrono::Duration::days(30)).unwrap(), 0);
    assert!(store.outbox_row(m.mutation_id).unwrap().is_some());
    assert_eq!(store.prune(now + chrono::Duration::seconds(1)).unwrap(), 1);
    assert!(store.outbox_row(m.mutation_id).unwrap().is_none());
}

#[test]
fn a_mutation_reads_back_exactly_as_queued_whatever_the_clocks_precision() {
    let (_dir, path) = temp();
    let mut store = Store::open(&path).unwrap();
    let report = ReportId::new_v7();
    let now = Utc::now(); // nanoseconds on most systems
    let queued = store
        .enqueue(
            MutationKind::Comment,
            &Comment { report_id: report, text: "ქ. 1,5 ₾".into() },
            Some(report.0),
            vec![],
            now,
        )
        .unwrap();
    let row = store.outbox_row(queued.mutation_id).unwrap().unwrap();
    assert_eq!(row.mutation, queued);
    assert!(row.mutation.hash_matches());
}
