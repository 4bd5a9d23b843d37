//! The sync protocol as a phone meets it (`docs/sync.md`): an outbox pushed once and only once,
//! a change feed that brings back everything that concerns the user, photos that arrive after
//! the mutation that promised them, and cursors that expire when the database is restored.

use chrono::Utc;
use serde_json::{Value, json};
use smartmap_server::storage::PhotoKind;
use smartmap_server::sync::photos::{PhotoArrival, photo_arrived};
use smartmap_shared::geo::LatLon;
use smartmap_shared::ids::ReportId;
use smartmap_shared::role::Role;
use smartmap_shared::sync::{
    CloseTicket, Comment, CreateReport, Dispute, ExpectedPhoto, Follow, Mutation, MutationKind, sha256_hex,
};
use smartmap_tests::photos::photo;
use smartmap_tests::{Account, Backend, GLDANI, TestApp, spawn_app};
use uuid::Uuid;

smartmap_tests::scenarios!(
    a_report_created_offline_is_routed_once_however_often_it_is_pushed,
    a_rejected_mutation_does_not_block_the_rest_of_the_batch,
    staff_work_reaches_the_reporters_feed_and_crews_get_and_lose_tickets,
    followers_comments_and_disputes_travel_through_the_outbox,
    a_crew_closes_offline_and_the_proof_arrives_later,
    the_feed_pages_and_a_snapshot_starts_over_after_a_restore,
);

/// A phone: its installation id and its outbox counter.
struct Phone {
    device: Uuid,
    seq: std::cell::Cell<i64>,
}

impl Phone {
    fn new() -> Phone {
        Phone { device: Uuid::now_v7(), seq: std::cell::Cell::new(0) }
    }

    fn mutation<P: serde::Serialize>(&self, kind: MutationKind, payload: &P) -> Mutation {
        self.seq.set(self.seq.get() + 1);
        Mutation::new(Uuid::now_v7(), self.device, self.seq.get(), kind, payload, Utc::now())
    }
}

async fn push(app: &TestApp, who: &Account, phone: &Phone, mutations: &[Mutation]) -> Vec<Value> {
    let body = json!({ "device_id": phone.device, "mutations": mutations });
    let reply = app.post_json("/api/sync/push", Some(&who.token), &body).await.expect(200);
    reply["results"].as_array().expect("results").clone()
}

async fn pull(app: &TestApp, who: &Account, cursor: Option<&str>, limit: u32) -> Value {
    let path = match cursor {
        Some(c) => format!("/api/sync/pull?cursor={c}&limit={limit}"),
        None => format!("/api/sync/pull?limit={limit}"),
    };
    app.get(&path, Some(&who.token)).await.expect(200)
}

/// Pulls until `has_more` is false; returns every change and the last cursor.
async fn pull_all(app: &TestApp, who: &Account, cursor: Option<&str>) -> (Vec<Value>, String) {
    let mut cursor = cursor.map(str::to_owned);
    let mut changes = Vec::new();
    loop {
        let page = pull(app, who, cursor.as_deref(), 100).await;
        changes.extend(page["changes"].as_array().unwrap().iter().cloned());
        cursor = Some(page["cursor"].as_str().unwrap().to_owned());
        if page["has_more"] == false {
            return (changes, cursor.unwrap());
        }
    }
}

/// The last state of report `id` among `changes`.
fn report_in<'a>(changes: &'a [Value], id: &str) -> Option<&'a Value> {
    changes.iter().rev().find(|c| c["entity"] == "report" && c["id"] == id)
}

fn rubbish(report_id: Uuid) -> CreateReport {
    CreateReport {
        report_id: ReportId(report_id),
        category: "cleaning".into(),
        location: LatLon::new(GLDANI.0, GLDANI.1).unwrap(),
        description: "Rubbish has not been collected for a week.".into(),
        address: None,
        hide_name: false,
        photos: vec![],
    }
}

async fn a_report_created_offline_is_routed_once_however_often_it_is_pushed(backend: Backend) {
    let app = spawn_app(backend).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let staff = app.make_user(Role::DistrictStaff, Some("gldani"), None).await;
    let phone = Phone::new();
    let id = Uuid::now_v7();
    let create = phone.mutation(MutationKind::CreateReport, &rubbish(id));

    let first = push(&app, &resident, &phone, std::slice::from_ref(&create)).await;
    assert_eq!(first[0]["outcome"], "applied", "{first:?}");
    assert_eq!(first[0]["result"]["status"], "routed");
    let public = app.public_report(&id.to_string()).await;
    assert_eq!(public["body"]["id"], "tbilservice");
    assert!(public["deadline"].is_string(), "a deadline runs");
    let queue = app.get("/api/staff/queue", Some(&staff.token)).await.expect(200);
    assert!(queue["items"].as_array().unwrap().iter().any(|r| r["id"] == id.to_string()), "in the staff queue");

    // The answer was lost; the phone pushes again.
    let again = push(&app, &resident, &phone, std::slice::from_ref(&create)).await;
    assert_eq!(again[0]["outcome"], "duplicate");
    assert_eq!(again[0]["result"], first[0]["result"]);
    assert_eq!(app.probe.rows("reports").await, 1, "stored once");
    assert_eq!(app.probe.rows("applied_mutations").await, 1);

    // The same mutation id with another payload is a conflict; nothing changes.
    let mut other = rubbish(Uuid::now_v7());
    other.description = "Something else entirely.".into();
    let reused = Mutation { mutation_id: create.mutation_id, ..phone.mutation(MutationKind::CreateReport, &other) };
    let conflict = push(&app, &resident, &phone, &[reused]).await;
    assert_eq!(conflict[0]["outcome"], "rejected");
    assert_eq!(conflict[0]["code"], "id_conflict");

    // A corrupted mutation is refused and stores nothing.
    let mut tampered = phone.mutation(MutationKind::CreateReport, &rubbish(Uuid::now_v7()));
    tampered.payload["description"] = json!("edited after hashing");
    let refused = push(&app, &resident, &phone, &[tampered]).await;
    assert_eq!(refused[0]["code"], "payload_hash_mismatch");
    assert!(refused[0]["message_ka"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(app.probe.rows("reports").await, 1, "nothing more stored");
    assert_eq!(app.probe.rows("applied_mutations").await, 1);
}

async fn a_rejected_mutation_does_not_block_the_rest_of_the_batch(backend: Backend) {
    let app = spawn_app(backend).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let phone = Phone::new();
    let mut unknown = rubbish(Uuid::now_v7());
    unknown.category = "teleportation".into();
    let batch = [
        phone.mutation(MutationKind::CreateReport, &rubbish(Uuid::now_v7())),
        phone.mutation(MutationKind::CreateReport, &unknown),
        phone.mutation(MutationKind::CreateReport, &rubbish(Uuid::now_v7())),
    ];
    let results = push(&app, &resident, &phone, &batch).await;
    let outcomes: Vec<&Value> = results.iter().map(|r| &r["outcome"]).collect();
    assert_eq!(outcomes, [&json!("applied"), &json!("rejected"), &json!("applied")]);
    assert_eq!(results[1]["code"], "unknown_category");
    assert_eq!(results[1]["field"], "category");
    assert!(results[1]["message"].as_str().unwrap().contains("teleportation"));
    assert!(!results[1]["message_ka"].as_str().unwrap().is_empty());
    for (r, m) in results.iter().zip(&batch) {
        assert_eq!(r["mutation_id"], m.mutation_id.to_string());
    }

    // Resent whole: the applied ones are duplicates, the rejection is the same rejection.
    let again = push(&app, &resident, &phone, &batch).await;
    assert_eq!(again[0]["outcome"], "duplicate");
    assert_eq!(again[1], results[1], "the stored rejection, word for word");
    assert_eq!(again[2]["outcome"], "duplicate");
    assert_eq!(app.probe.rows("reports").await, 2);
    assert_eq!(app.probe.rows("applied_mutations").await, 3, "the rejection is stored too");

    // A batch from another device, or too large, is refused whole.
    let stranger = Phone::new();
    let body = json!({ "device_id": phone.device, "mutations": [stranger.mutation(MutationKind::CreateReport, &rubbish(Uuid::now_v7()))] });
    app.post_json("/api/sync/push", Some(&resident.token), &body).await.expect_problem(422, "invalid_input");
    let many: Vec<Mutation> =
        (0..101).map(|_| phone.mutation(MutationKind::CreateReport, &rubbish(Uuid::now_v7()))).collect();
    let body = json!({ "device_id": phone.device, "mutations": many });
    app.post_json("/api/sync/push", Some(&resident.token), &body).await.expect_problem(413, "too_large");
    assert_eq!(app.probe.rows("reports").await, 2);
}

async fn staff_work_reaches_the_reporters_feed_and_crews_get_and_lose_tickets(backend: Backend) {
    let app = spawn_app(backend).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let staff = app.make_user(Role::DepartmentStaff, None, Some("tbilservice")).await;
    let crew = app.make_user(Role::FieldCrew, None, Some("tbilservice")).await;
    let phone = Phone::new();
    let id = Uuid::now_v7().to_string();
    push(&app, &resident, &phone, &[phone.mutation(MutationKind::CreateReport, &rubbish(id.parse().unwrap()))]).await;
    let (changes, cursor) = pull_all(&app, &resident, None).await;
    let mine = report_in(&changes, &id).expect("the reporter's feed carries the report");
    assert_eq!(mine["data"]["mine"], true);
    assert_eq!(mine["data"]["status"], "routed");

    app.act_ok(&staff.token, &id, &json!({ "action": "acknowledge", "public_note": "We will clean it tomorrow." }))
        .await;
    let (changes, cursor) = pull_all(&app, &resident, Some(&cursor)).await;
    let report = &report_in(&changes, &id).expect("the change arrives")["data"];
    assert_eq!(report["status"], "acknowledged");
    let last = report["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["note"], "We will clean it tomorrow.");
    assert_eq!(last["by_role"], "department_staff");
    assert!(!report.to_string().contains(&staff.id.0.to_string()), "no staff identity in the feed");
    assert_eq!(changes.iter().filter(|c| c["id"] == id.as_str()).count(), 1, "one entry per report per page");

    // The crew's feed gets the ticket on assignment…
    app.act_ok(&staff.token, &id, &json!({ "action": "assign_crew", "crew": crew.id })).await;
    let (crew_changes, crew_cursor) = pull_all(&app, &crew, None).await;
    let ticket = report_in(&crew_changes, &id).expect("the crew holds the ticket");
    assert_eq!(ticket["data"]["assigned_to_me"], true);
    assert_eq!(ticket["data"]["mine"], false);
    assert!(!ticket.to_string().contains(&resident.id.0.to_string()), "no reporter identity");
    // …and a tombstone when the ticket goes elsewhere.
    app.act_ok(&staff.token, &id, &json!({ "action": "not_responsible", "to_body": "city-hall-environment" })).await;
    let (crew_changes, _) = pull_all(&app, &crew, Some(&crew_cursor)).await;
    let gone = report_in(&crew_changes, &id).expect("a tombstone");
    assert_eq!(gone["deleted"], true);
    assert!(gone["data"].is_null());
    let (changes, _) = pull_all(&app, &resident, Some(&cursor)).await;
    assert_eq!(report_in(&changes, &id).unwrap()["data"]["status"], "routed", "the reporter sees the re-routing");
}

async fn followers_comments_and_disputes_travel_through_the_outbox(backend: Backend) {
    let app = spawn_app(backend).await;
    let reporter = app.make_user(Role::Resident, None, None).await;
    let neighbour = app.make_user(Role::Resident, None, None).await;
    let admin = app.make_user(Role::Admin, None, None).await;
    let crew = app.make_user(Role::FieldCrew, None, Some("tbilservice")).await;
    let (phone, other_phone) = (Phone::new(), Phone::new());
    let id = Uuid::now_v7();
    push(&app, &reporter, &phone, &[phone.mutation(MutationKind::CreateReport, &rubbish(id))]).await;
    let id_text = id.to_string();

    let follow = other_phone.mutation(MutationKind::Follow, &Follow { report_id: ReportId(id), follow: true });
    let followed = push(&app, &neighbour, &other_phone, &[follow]).await;
    assert_eq!(followed[0]["outcome"], "applied", "{followed:?}");
    let (changes, cursor) = pull_all(&app, &neighbour, None).await;
    assert_eq!(report_in(&changes, &id_text).unwrap()["data"]["following"], true);

    app.act_ok(&admin.token, &id_text, &json!({ "action": "respond", "public_note": "Scheduled." })).await;
    let (changes, _) = pull_all(&app, &neighbour, Some(&cursor)).await;
    let seen = &report_in(&changes, &id_text).expect("the follower gets the change")["data"];
    assert_eq!(seen["timeline"].as_array().unwrap().last().unwrap()["note"], "Scheduled.");

    let comment =
        other_phone.mutation(MutationKind::Comment, &Comment { report_id: ReportId(id), text: "Still there.".into() });
    let blank = other_phone.mutation(MutationKind::Comment, &Comment { report_id: ReportId(id), text: "  ".into() });
    let results = push(&app, &neighbour, &other_phone, &[comment, blank]).await;
    assert_eq!(results[0]["outcome"], "applied");
    assert_eq!(results[1]["code"], "required");
    assert_eq!(results[1]["field"], "text");
    let (changes, _) = pull_all(&app, &reporter, None).await;
    let timeline = report_in(&changes, &id_text).unwrap()["data"]["timeline"].as_array().unwrap().clone();
    let note = timeline.iter().find(|e| e["action"] == "comment").expect("the comment is on the timeline");
    assert_eq!(note["note"], "Still there.");
    assert_eq!(note["by_me"], false);
    assert_eq!(note["status"], "routed", "a comment changes no status");

    // Fixed, then disputed by the reporter from the phone; a stranger may not dispute.
    app.start_work(&admin, &id_text, &crew).await;
    app.close(&crew.token, &id_text, &[photo(7)]).await.expect(200);
    let dispute = |p: &Phone| {
        p.mutation(MutationKind::Dispute, &Dispute { report_id: ReportId(id), reason: "Not cleaned.".into() })
    };
    let stranger = push(&app, &neighbour, &other_phone, &[dispute(&other_phone)]).await;
    assert_eq!(stranger[0]["code"], "forbidden");
    let disputed = push(&app, &reporter, &phone, &[dispute(&phone)]).await;
    assert_eq!(disputed[0]["outcome"], "applied");
    assert_eq!(disputed[0]["result"]["status"], "reopened");
    assert_eq!(app.public_report(&id_text).await["status"], "reopened");

    let unfollow = other_phone.mutation(MutationKind::Follow, &Follow { report_id: ReportId(id), follow: false });
    push(&app, &neighbour, &other_phone, &[unfollow]).await;
    let (changes, _) = pull_all(&app, &neighbour, None).await;
    assert_eq!(report_in(&changes, &id_text).unwrap()["deleted"], true, "unfollowed: a tombstone");
}

async fn a_crew_closes_offline_and_the_proof_arrives_later(backend: Backend) {
    let app = spawn_app(backend).await;
    let reporter = app.make_user(Role::Resident, None, None).await;
    let admin = app.make_user(Role::Admin, None, None).await;
    let crew = app.make_user(Role::FieldCrew, None, Some("tbilservice")).await;
    let phone = Phone::new();
    let id = Uuid::now_v7();
    let id_text = id.to_string();
    push(&app, &reporter, &phone, &[phone.mutation(MutationKind::CreateReport, &rubbish(id))]).await;
    app.start_work(&admin, &id_text, &crew).await;

    let proof = photo(11);
    let near = LatLon::new(GLDANI.0 + 0.0005, GLDANI.1).unwrap(); // ~55 m away
    let far = LatLon::new(GLDANI.0 + 0.01, GLDANI.1).unwrap(); // ~1.1 km away
    let promise = |at| ExpectedPhoto { sha256: sha256_hex(&proof), size: proof.len() as u64, taken_at: Some(at) };
    let crew_phone = Phone::new();
    let close =
        |at| CloseTicket { report_id: ReportId(id), public_note: Some("Cleaned.".into()), proof: vec![promise(at)] };
    let too_far = push(&app, &crew, &crew_phone, &[crew_phone.mutation(MutationKind::CloseTicket, &close(far))]).await;
    assert_eq!(too_far[0]["code"], "proof_too_far");
    assert_eq!(too_far[0]["field"], "proof[0].taken_at");
    assert_eq!(app.public_report(&id_text).await["status"], "in_progress", "nothing changed");

    let closed = push(&app, &crew, &crew_phone, &[crew_phone.mutation(MutationKind::CloseTicket, &close(near))]).await;
    assert_eq!(closed[0]["outcome"], "applied", "{closed:?}");
    let public = app.public_report(&id_text).await;
    assert_eq!(public["status"], "fixed");
    assert_eq!(public["proof_pending"], 1, "closed, proof pending");
    assert_eq!(public["proof_photos"].as_array().unwrap().len(), 0);
    let (changes, cursor) = pull_all(&app, &reporter, None).await;
    let before = report_in(&changes, &id_text).unwrap()["version"].as_i64().unwrap();
    assert_eq!(report_in(&changes, &id_text).unwrap()["data"]["pending_photos"][0]["kind"], "proof");

    // The upload completes: the photo is processed and attached.
    let crew_record = app.state.storage.user(crew.id).await.unwrap().unwrap();
    let reporter_record = app.state.storage.user(reporter.id).await.unwrap().unwrap();
    let sha = sha256_hex(&proof);
    let not_theirs =
        photo_arrived(&app.state, &reporter_record, ReportId(id), PhotoKind::Proof, &sha, proof.clone().into()).await;
    assert!(not_theirs.is_err(), "only the assigned crew uploads proof");
    let arrived = photo_arrived(&app.state, &crew_record, ReportId(id), PhotoKind::Proof, &sha, proof.clone().into())
        .await
        .unwrap();
    assert!(matches!(arrived, PhotoArrival::Attached { still_pending: 0, .. }), "{arrived:?}");
    let public = app.public_report(&id_text).await;
    assert_eq!(public["proof_pending"], 0);
    assert_eq!(public["proof_photos"].as_array().unwrap().len(), 1);
    let (changes, _) = pull_all(&app, &reporter, Some(&cursor)).await;
    let after = report_in(&changes, &id_text).expect("the arrival is in the feed");
    assert!(after["version"].as_i64().unwrap() > before, "the version moved");
    assert_eq!(after["data"]["pending_photos"], json!([]));
    assert_eq!(after["data"]["photos"][0]["kind"], "proof");

    // The same upload again changes nothing.
    let again = photo_arrived(&app.state, &crew_record, ReportId(id), PhotoKind::Proof, &sha, proof.clone().into())
        .await
        .unwrap();
    assert_eq!(again, PhotoArrival::AlreadyAttached);
    assert_eq!(app.probe.rows("report_photos").await, 1);

    // A report photo uploaded before its mutation waits, and is claimed when the mutation lands.
    let early = photo(12);
    let second = Uuid::now_v7();
    let staged = photo_arrived(
        &app.state,
        &reporter_record,
        ReportId(second),
        PhotoKind::Report,
        &sha256_hex(&early),
        early.clone().into(),
    )
    .await
    .unwrap();
    assert!(matches!(staged, PhotoArrival::Staged { .. }), "{staged:?}");
    let with_photo = CreateReport {
        photos: vec![ExpectedPhoto { sha256: sha256_hex(&early), size: early.len() as u64, taken_at: None }],
        ..rubbish(second)
    };
    let landed = push(&app, &reporter, &phone, &[phone.mutation(MutationKind::CreateReport, &with_photo)]).await;
    assert_eq!(landed[0]["outcome"], "applied");
    let public = app.public_report(&second.to_string()).await;
    assert_eq!(public["photos"].as_array().unwrap().len(), 1, "claimed");
    assert_eq!(public["photos_pending"], 0);
}

async fn the_feed_pages_and_a_snapshot_starts_over_after_a_restore(backend: Backend) {
    let app = spawn_app(backend).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let phone = Phone::new();
    let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
    let batch: Vec<Mutation> = ids.iter().map(|id| phone.mutation(MutationKind::CreateReport, &rubbish(*id))).collect();
    push(&app, &resident, &phone, &batch).await;

    // Small pages: several of them, every report in one of them.
    let first = pull(&app, &resident, None, 5).await;
    assert_eq!(first["has_more"], true);
    assert_eq!(first["changes"].as_array().unwrap().len(), 5);
    let (rest, head) = pull_all(&app, &resident, first["cursor"].as_str()).await;
    let mut all = first["changes"].as_array().unwrap().clone();
    all.extend(rest);
    for id in &ids {
        assert!(report_in(&all, &id.to_string()).is_some(), "{id} in the feed");
    }
    let seqs: Vec<i64> = all.iter().map(|c| c["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in feed order, none twice");
    let empty = pull(&app, &resident, Some(&head), 100).await;
    assert_eq!(empty["changes"], json!([]));
    assert_eq!(empty["cursor"], head.as_str());

    // A snapshot: reference data and the user's reports.
    let snapshot = app.get("/api/sync/snapshot", Some(&resident.token)).await.expect(200);
    let entities = snapshot["entities"].as_array().unwrap();
    for kind in ["category", "district", "body", "routing", "sla_rules", "calendar"] {
        assert!(entities.iter().any(|e| e["entity"] == kind), "no {kind} in the snapshot");
    }
    assert_eq!(entities.iter().filter(|e| e["entity"] == "report").count(), 3);
    assert_eq!(snapshot["cursor"], head.as_str(), "nothing changed since the last pull");

    // Cursors the server never issued, or of another history, are refused with 410.
    let epoch = head.rsplit_once('.').unwrap().0.to_owned();
    let seq: i64 = head.rsplit_once('.').unwrap().1.parse().unwrap();
    for bad in [format!("someotherepoch.{seq}"), format!("{epoch}.{}", seq + 1000)] {
        let reply = app.get(&format!("/api/sync/pull?cursor={bad}"), Some(&resident.token)).await;
        reply.expect_problem(410, "cursor_expired");
    }
    app.get("/api/sync/pull?cursor=nonsense", Some(&resident.token)).await.expect_problem(422, "invalid_input");

    // After a restore (a new epoch), old cursors expire and a snapshot gives a new one.
    smartmap_server::sync::epoch::new_epoch(app.state.storage.as_ref()).await.unwrap();
    app.get(&format!("/api/sync/pull?cursor={head}"), Some(&resident.token))
        .await
        .expect_problem(410, "cursor_expired");
    let fresh = app.get("/api/sync/snapshot", Some(&resident.token)).await.expect(200);
    let cursor = fresh["cursor"].as_str().unwrap().to_owned();
    assert_ne!(cursor.rsplit_once('.').unwrap().0, epoch);
    let page = pull(&app, &resident, Some(&cursor), 100).await;
    assert_eq!(page["has_more"], false);
    // The phone re-pushes what the old epoch acknowledged: all still here, so all duplicates.
    let again = push(&app, &resident, &phone, &batch).await;
    assert!(again.iter().all(|r| r["outcome"] == "duplicate"));
    assert_eq!(app.probe.rows("reports").await, 3);
}
