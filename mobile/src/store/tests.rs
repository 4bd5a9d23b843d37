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

// ---- the outbox is bound to an account ----

const NINO: &str = r#"{"id":"0190a000-0000-7000-8000-00000000000a","email":"nino@example.ge","role":"resident"}"#;
const GIORGI: &str = r#"{"id":"0190a000-0000-7000-8000-00000000000b","email":"giorgi@example.ge","role":"resident"}"#;

fn sign_in(store: &mut Store, account: &str) {
    // As `Inner::store_tokens` records a sign-in.
    store.set_meta_many(&[(meta::ACCOUNT, Some(account)), (meta::LAST_ACCOUNT, Some(account))]).unwrap();
}

fn sign_out(store: &mut Store) {
    store.set_meta_many(&[(meta::ACCOUNT, None)]).unwrap();
}

fn owner(store: &Store, m: &smartmap_shared::sync::Mutation) -> Option<String> {
    store.outbox_row(m.mutation_id).unwrap().unwrap().account.and_then(|a| a.email)
}

#[test]
fn a_row_belongs_to_the_account_it_was_captured_under_and_never_leaves_under_another() {
    let (_dir, path) = temp();
    let mut store = Store::open(&path).unwrap();
    let now = t("2026-03-10T06:00:00Z");
    let report = ReportId::new_v7();
    sign_in(&mut store, NINO);
    let ninos = store
        .enqueue(
            MutationKind::Comment,
            &Comment { report_id: report, text: "nino's".into() },
            Some(report.0),
            vec![photo("aa")],
            now,
        )
        .unwrap();
    sign_out(&mut store);
    // Signed out: still Nino's (a sign-out is no change of person).
    let after_sign_out = comment(&mut store, report, "captured signed out");
    assert_eq!(owner(&store, &ninos).as_deref(), Some("nino@example.ge"));
    assert_eq!(owner(&store, &after_sign_out).as_deref(), Some("nino@example.ge"));
    assert!(store.take_batch(now, 10).unwrap().is_empty(), "signed out, nothing of Nino's is taken");

    sign_in(&mut store, GIORGI);
    let giorgis = comment(&mut store, report, "giorgi's");
    assert_eq!(owner(&store, &giorgis).as_deref(), Some("giorgi@example.ge"));
    let batch = store.take_batch(now, 10).unwrap();
    assert_eq!(batch, vec![giorgis.clone()], "Nino's rows are skipped, and do not hold Giorgi's back");
    assert_eq!(store.next_due().unwrap(), None, "nothing Giorgi can send is left");
    let waiting = store.waiting_for_accounts().unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!((waiting[0].0.label(), waiting[0].1), ("nino@example.ge", 2));
    assert_eq!(store.sendable_count().unwrap(), 1, "Giorgi's, in flight");
    assert_eq!(store.pending_totals().unwrap().0, 3, "everything still on the phone");

    // Giorgi's acknowledged mutation has no photos; Nino's photo is not uploaded under Giorgi.
    let applied = |id| PushResult { mutation_id: id, outcome: Outcome::Applied { result: json!({}) } };
    store.record_outcomes(&[giorgis.mutation_id], &[applied(giorgis.mutation_id)], Some("e1"), now).unwrap();
    assert!(store.photos_to_upload().unwrap().is_empty());

    sign_out(&mut store);
    sign_in(&mut store, NINO);
    assert!(store.waiting_for_accounts().unwrap().is_empty());
    let batch = store.take_batch(now, 10).unwrap();
    assert_eq!(batch, vec![ninos.clone(), after_sign_out], "back in capture order, under Nino");
    store.record_outcomes(&[ninos.mutation_id], &[applied(ninos.mutation_id)], Some("e1"), now).unwrap();
    let photos = store.photos_to_upload().unwrap();
    assert_eq!(photos.len(), 1, "the photo follows its mutation");
    assert_eq!(photos[0].account_id.as_deref(), Some("0190a000-0000-7000-8000-00000000000a"));
}

#[test]
fn what_was_captured_before_anyone_signed_in_goes_to_the_first_account_and_stays_its() {
    let (_dir, path) = temp();
    let mut store = Store::open(&path).unwrap();
    let now = t("2026-03-10T06:00:00Z");
    let early = comment(&mut store, ReportId::new_v7(), "before any sign-in");
    assert_eq!(store.outbox_row(early.mutation_id).unwrap().unwrap().account, None);
    assert!(store.waiting_for_accounts().unwrap().is_empty(), "an unowned row waits for nobody in particular");
    assert_eq!(store.sendable_count().unwrap(), 1);

    sign_in(&mut store, GIORGI);
    let batch = store.take_batch(now, 10).unwrap();
    assert_eq!(batch, vec![early.clone()]);
    assert_eq!(owner(&store, &early).as_deref(), Some("giorgi@example.ge"), "bound as it is sent");
    // The send got no answer and Giorgi signs out: the row was sent as Giorgi, so it stays his.
    store.release_batch(&[early.mutation_id], None, "the network broke").unwrap();
    sign_out(&mut store);
    sign_in(&mut store, NINO);
    assert!(store.take_batch(now, 10).unwrap().is_empty());
    let waiting = store.waiting_for_accounts().unwrap();
    assert_eq!((waiting[0].0.label(), waiting[0].1), ("giorgi@example.ge", 1));
}

#[test]
fn the_second_migration_gives_queued_rows_to_the_account_signed_in_at_the_upgrade() {
    let (_dir, path) = temp();
    let report = ReportId::new_v7();
    {
        // A file of the first schema, as the previous version left it: signed in, two queued.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(schema::MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        set_meta(&conn, meta::DEVICE_ID, &Uuid::now_v7().to_string()).unwrap();
        set_meta(&conn, meta::NEXT_DEVICE_SEQ, "3").unwrap();
        set_meta(&conn, meta::ACCOUNT, NINO).unwrap();
        for seq in 1..=2 {
            conn.execute(
                "INSERT INTO outbox (mutation_id, device_seq, kind, v, payload, payload_sha256, report_id, client_time)
                 VALUES (?1, ?2, 'report.comment', 1, '{}', 'x', ?3, '2026-03-10T05:00:00Z')",
                params![Uuid::now_v7().to_string(), seq, report.to_string()],
            )
            .unwrap();
        }
    }
    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), 2);
    let rows = store.outbox_rows().unwrap();
    assert!(rows.iter().all(|r| r.account.as_ref().and_then(|a| a.email.as_deref()) == Some("nino@example.ge")));
    assert_eq!(store.meta(meta::LAST_ACCOUNT).unwrap().as_deref(), Some(NINO), "remembered as the last account");
    sign_out(&mut store);
    let later = comment(&mut store, report, "signed out after the upgrade");
    assert_eq!(owner(&store, &later).as_deref(), Some("nino@example.ge"));

    // Signed out at the upgrade: nobody to give them to, so they go to whoever signs in first.
    let (_dir2, path2) = temp();
    {
        let conn = rusqlite::Connection::open(&path2).unwrap();
        conn.execute_batch(schema::MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO outbox (mutation_id, device_seq, kind, v, payload, payload_sha256, client_time)
             VALUES (?1, 1, 'report.comment', 1, '{}', 'x', '2026-03-10T05:00:00Z')",
            [Uuid::now_v7().to_string()],
        )
        .unwrap();
    }
    let store = Store::open(&path2).unwrap();
    assert_eq!(store.outbox_rows().unwrap()[0].account, None);
    assert_eq!(store.meta(meta::LAST_ACCOUNT).unwrap(), None);
}
