//! The user stories, end to end: real phone cores (`smartmap-mobile`, each on its own
//! SQLite file) talking to the real server through the fault proxy, and staff acting over HTTP
//! as the web console does. Each story is what a user would recognise:
//!
//! 1. a resident with no signal reports overflowing rubbish, sees at once where it goes and when
//!    it is due, and later follows the city's answer;
//! 2. a field crew closes its ticket offline with a proof photo, and the resident sees before and
//!    after;
//! 3. a proof photo taken too far away is refused with a reason, without blocking the queue;
//! 4. a neighbour follows the report, the reporter comments and, after the closure, disputes it.

use serde_json::{Value, json};
use smartmap_mobile::{OutboxState, ProofPhoto, ReportDraft, ReportView, SyncPhase, SyncProgress};
use smartmap_shared::geo::LatLon;
use smartmap_shared::ids::ReportId;
use smartmap_shared::role::Role;
use smartmap_tests::phone::{Phone, Stored, resident, stored};
use smartmap_tests::photos::jpeg;
use smartmap_tests::server::SyncServer;
use smartmap_tests::{Account, Backend, GLDANI, scenarios};

scenarios!(
    a_resident_offline_reports_sees_the_preview_and_later_the_citys_answer,
    a_field_crew_closes_a_ticket_offline_and_the_resident_sees_before_and_after,
    a_proof_photo_taken_too_far_away_is_refused_and_does_not_block_the_queue,
    a_neighbour_follows_the_reporter_comments_and_disputes_the_closure,
);

// ---- The cast and what they do ---------------------------------------------------------------

/// Where the rubbish is: the seed point of Gldani.
fn rubbish_spot() -> LatLon {
    LatLon::new(GLDANI.0, GLDANI.1).expect("a location")
}

/// A point `metres` due north of the rubbish (a degree of latitude is ~111.2 km).
fn north_of_rubbish(metres: f64) -> LatLon {
    LatLon::new(GLDANI.0 + metres / 111_195.0, GLDANI.1).expect("a location")
}

/// A resident's report of overflowing bins in Gldani, with one photo.
fn rubbish_report(description: &str) -> ReportDraft {
    ReportDraft {
        category: "cleaning".into(),
        location: rubbish_spot(),
        description: description.into(),
        address: Some("Gldani, micro-district 3".into()),
        hide_name: false,
        photos: vec![jpeg(160, 120, 11)],
    }
}

/// A proof photo taken at `taken_at`.
fn proof_at(taken_at: LatLon, seed: u8) -> Vec<ProofPhoto> {
    vec![ProofPhoto { bytes: jpeg(160, 120, seed), taken_at }]
}

/// A phone signed in as `account` that has synced once (so reference data is on it).
async fn phone_of(server: &SyncServer, account: &Account) -> Phone {
    let phone = Phone::new(server).await;
    phone.login(account).await;
    phone.sync().await;
    phone
}

/// A staff action over HTTP, as the web console sends it; it must succeed.
async fn staff_act(server: &SyncServer, staff: &Account, id: ReportId, action: Value) -> Value {
    let reply = reqwest::Client::new()
        .post(format!("{}/api/staff/reports/{id}/actions", server.direct_url()))
        .bearer_auth(&staff.token)
        .json(&action)
        .send()
        .await
        .expect("a staff action");
    let status = reply.status();
    let body = reply.text().await.expect("the answer");
    assert_eq!(status, 200, "staff action {action} on {id}: {body}");
    serde_json::from_str(&body).expect("JSON")
}

/// The report as the public sees it: `GET /api/reports/{id}`.
async fn public_report(server: &SyncServer, id: ReportId) -> Value {
    let reply =
        reqwest::Client::new().get(format!("{}/api/reports/{id}", server.direct_url())).send().await.expect("GET");
    assert_eq!(reply.status(), 200, "GET /api/reports/{id}");
    reply.json().await.expect("JSON")
}

/// Gldani district staff.
async fn gldani_staff(server: &SyncServer) -> Account {
    server.make_user(Role::DistrictStaff, Some("gldani"), None).await
}

/// A field crew of the body the server routed `report` to.
async fn crew_of(server: &SyncServer, report: &ReportView) -> Account {
    let body = report.body.as_deref().expect("the report is routed to a body");
    server.make_user(Role::FieldCrew, None, Some(body)).await
}

/// Staff acknowledge the report and put `crew` on it.
async fn start_work(server: &SyncServer, staff: &Account, id: ReportId, crew: &Account) {
    let acked = staff_act(server, staff, id, json!({ "action": "acknowledge" })).await;
    assert_eq!(acked["status"], "acknowledged");
    let assigned = staff_act(server, staff, id, json!({ "action": "assign_crew", "crew": crew.id })).await;
    assert_eq!(assigned["status"], "in_progress");
}

/// A resident's report, captured online and synced; returns its id and the phone's view.
async fn reported(phone: &Phone, description: &str) -> (ReportId, ReportView) {
    let id = phone.client.create_report(rubbish_report(description)).await.expect("capturing").report_id;
    phone.sync().await;
    let view = phone.client.report(id).await.expect("the report");
    assert_eq!(view.status, "routed", "{view:?}");
    (id, view)
}

/// The `action` of each public timeline entry.
fn public_actions(report: &Value) -> Vec<&str> {
    report["timeline"].as_array().expect("a timeline").iter().map(|e| e["action"].as_str().unwrap()).collect()
}

/// Every progress event received so far.
fn drain(events: &mut tokio::sync::broadcast::Receiver<SyncProgress>) -> Vec<SyncProgress> {
    let mut out = Vec::new();
    loop {
        match events.try_recv() {
            Ok(event) => out.push(event),
            Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_)) => continue,
            Err(_) => return out,
        }
    }
}

// ---- The stories -----------------------------------------------------------------------------

async fn a_resident_offline_reports_sees_the_preview_and_later_the_citys_answer(backend: Backend) {
    let server = SyncServer::start(backend, |_| {}).await;
    let probe = server.probe().await;
    let nino = resident(&server).await;
    let phone = phone_of(&server, &nino).await;

    // In a courtyard with no signal, Nino reports the overflowing bins with a photo. The app
    // tells her at once who will deal with it and by when.
    server.proxy.set_offline(true);
    let queued = phone.client.create_report(rubbish_report("The bins have overflowed for a week.")).await.unwrap();
    let id = queued.report_id;
    let preview = queued.preview.expect("reference data is on the phone, so a preview");
    assert_eq!(preview.district, "gldani");
    assert!(!preview.body.is_empty());
    assert!(preview.deadline > preview.from, "{preview:?}");
    let mine = phone.client.my_reports().await.unwrap();
    assert_eq!(mine.len(), 1, "{mine:?}");
    let queued_view = &mine[0];
    assert_eq!((queued_view.id, queued_view.status.as_str()), (id, "queued"));
    assert_eq!(queued_view.district.as_deref(), Some("gldani"));
    assert_eq!(queued_view.body.as_deref(), Some(preview.body.as_str()));
    assert_eq!(queued_view.deadline, Some(preview.deadline));
    assert!(queued_view.pending && queued_view.number.is_none());
    assert_eq!(queued_view.local_photos.len(), 1);

    // The app tries to send while offline: nothing reaches the server, the report stays queued.
    let attempt = phone.client.sync_once().await;
    assert!(attempt.as_ref().is_err_and(|e| e.is_transient()), "offline: {attempt:?}");
    assert_eq!(phone.client.report(id).await.unwrap().status, "queued");
    assert_eq!(stored(&probe).await, Stored { reports: 0, photos: 0, mutations: 0 });

    // The signal comes back; the report and its photo go up, with progress for the status bar.
    server.proxy.set_offline(false);
    let mut progress = phone.client.subscribe();
    phone.sync().await;
    let events = drain(&mut progress);
    let pushed = events.iter().rfind(|e| e.phase == SyncPhase::Push).expect("push progress");
    assert_eq!((pushed.items_done, pushed.items_total), (1, 1), "{events:?}");
    let photo_size = queued_view.local_photos[0].size as u64;
    let uploaded = events.iter().rfind(|e| e.phase == SyncPhase::Upload).expect("upload progress");
    assert_eq!((uploaded.items_done, uploaded.items_total), (1, 1), "{events:?}");
    assert_eq!((uploaded.bytes_sent, uploaded.bytes_total), (photo_size, photo_size), "{events:?}");
    assert!(events.iter().any(|e| e.phase == SyncPhase::Pull), "{events:?}");
    assert_eq!(events.last().map(|e| e.phase), Some(SyncPhase::Idle), "{events:?}");

    // The server routed it where the phone said, with the deadline the phone showed.
    assert_eq!(stored(&probe).await, Stored { reports: 1, photos: 1, mutations: 1 });
    let public = public_report(&server, id).await;
    assert_eq!(public["status"], "routed");
    assert_eq!(public["district"]["id"], "gldani");
    assert_eq!(public["body"]["id"], preview.body.as_str(), "the preview named the body the server chose");
    assert_eq!(public["photos"].as_array().unwrap().len(), 1);
    let synced = phone.client.report(id).await.unwrap();
    assert_eq!(synced.status, "routed");
    assert_eq!(synced.body.as_deref(), Some(preview.body.as_str()));
    assert_eq!(synced.deadline, Some(preview.deadline), "nobody's clock moved: the same deadline");
    assert!(synced.number.is_some() && !synced.pending, "{synced:?}");
    assert_eq!((synced.photos.len(), synced.server_pending_photos), (1, 0));

    // Gldani staff acknowledge it, send a crew and answer publicly.
    let staff = gldani_staff(&server).await;
    let crew = crew_of(&server, &synced).await;
    start_work(&server, &staff, id, &crew).await;
    let note = "A crew will empty the bins tomorrow morning.";
    staff_act(&server, &staff, id, json!({ "action": "respond", "public_note": note })).await;

    // Nino's next sync shows all of it, and nothing is left to send.
    phone.sync().await;
    let seen = phone.client.report(id).await.unwrap();
    assert_eq!(seen.status, "in_progress", "{seen:?}");
    let answer = seen.timeline.iter().find(|e| e.note.as_deref() == Some(note));
    let answer = answer.unwrap_or_else(|| panic!("the public note is on the timeline: {:?}", seen.timeline));
    assert_eq!(answer.action, "respond");
    assert!(!answer.pending && !answer.by_me);
    assert!(!seen.pending && seen.timeline.iter().all(|e| !e.pending), "{seen:?}");
    let outbox = phone.client.outbox().await.unwrap();
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    assert_eq!(outbox[0].state, OutboxState::Acked);
    assert_eq!((outbox[0].photos_total, outbox[0].photos_uploaded), (1, 1));
    assert_eq!(phone.client.my_reports().await.unwrap().len(), 1, "one report, not a queued copy and a synced one");
    assert_eq!(stored(&probe).await, Stored { reports: 1, photos: 1, mutations: 1 });
}

async fn a_field_crew_closes_a_ticket_offline_and_the_resident_sees_before_and_after(backend: Backend) {
    let server = SyncServer::start(backend, |_| {}).await;
    let probe = server.probe().await;
    let nino = resident(&server).await;
    let resident_phone = phone_of(&server, &nino).await;
    let (id, view) = reported(&resident_phone, "The bins have overflowed for a week.").await;
    let staff = gldani_staff(&server).await;
    let crew = crew_of(&server, &view).await;
    start_work(&server, &staff, id, &crew).await;

    // The crew's phone syncs in the depot: the ticket is there.
    let crew_phone = phone_of(&server, &crew).await;
    let tickets = crew_phone.client.my_tickets().await.unwrap();
    assert_eq!(tickets.iter().map(|t| t.id).collect::<Vec<_>>(), [id], "{tickets:?}");
    assert!(tickets[0].assigned_to_me && !tickets[0].mine);
    assert_eq!(tickets[0].status, "in_progress");

    // At the bins there is no signal. The crew empties them and closes the ticket with a photo
    // taken 40 m away: inside the geofence, so no warning.
    server.proxy.set_offline(true);
    let queued = crew_phone
        .client
        .close_ticket(id, Some("Bins emptied.".into()), proof_at(north_of_rubbish(40.0), 21))
        .await
        .unwrap();
    assert_eq!(queued.warnings, vec![], "40 m is inside the 150 m geofence");
    let ticket = crew_phone.client.report(id).await.unwrap();
    assert_eq!(ticket.status, "in_progress", "the server decides: not fixed yet");
    assert!(ticket.pending, "{ticket:?}");
    let closing = ticket.timeline.last().expect("a timeline");
    assert_eq!((closing.action.as_str(), closing.pending, closing.by_me), ("close", true, true));
    assert_eq!(closing.note.as_deref(), Some("Bins emptied."));
    assert_eq!(ticket.local_photos.iter().filter(|p| p.kind == "proof" && !p.done).count(), 1);
    assert_eq!(stored(&probe).await, Stored { reports: 1, photos: 1, mutations: 1 });

    // Back in signal: the closure and its proof go up.
    server.proxy.set_offline(false);
    crew_phone.sync().await;
    let public = public_report(&server, id).await;
    assert_eq!(public["status"], "fixed", "{public}");
    assert_eq!(public["proof_pending"], 0, "the proof has arrived: {public}");
    assert_eq!(public["proof_photos"].as_array().unwrap().len(), 1);
    assert_eq!(public["photos"].as_array().unwrap().len(), 1);
    assert_eq!(public_actions(&public).last(), Some(&"mark_fixed"));
    let ticket = crew_phone.client.report(id).await.unwrap();
    assert_eq!(ticket.status, "fixed");
    assert!(!ticket.pending && ticket.timeline.iter().all(|e| !e.pending), "{ticket:?}");
    assert_eq!(stored(&probe).await, Stored { reports: 1, photos: 2, mutations: 2 });

    // Nino sees it fixed, with her photo and the crew's: before and after.
    resident_phone.sync().await;
    let seen = resident_phone.client.report(id).await.unwrap();
    assert_eq!(seen.status, "fixed", "{seen:?}");
    let mut kinds: Vec<&str> = seen.photos.iter().map(|p| p.kind.as_str()).collect();
    kinds.sort();
    assert_eq!(kinds, ["proof", "report"], "before and after: {:?}", seen.photos);
    assert_eq!(seen.server_pending_photos, 0);
    assert!(seen.timeline.iter().any(|e| e.note.as_deref() == Some("Bins emptied.")), "{:?}", seen.timeline);
}

async fn a_proof_photo_taken_too_far_away_is_refused_and_does_not_block_the_queue(backend: Backend) {
    let server = SyncServer::start(backend, |_| {}).await;
    let probe = server.probe().await;
    let nino = resident(&server).await;
    let resident_phone = phone_of(&server, &nino).await;
    let (id, view) = reported(&resident_phone, "The bins have overflowed for a week.").await;
    let staff = gldani_staff(&server).await;
    let crew = crew_of(&server, &view).await;
    start_work(&server, &staff, id, &crew).await;
    let crew_phone = phone_of(&server, &crew).await;

    // Offline, the crew closes with a photo taken 300 m away. The phone warns but queues it.
    server.proxy.set_offline(true);
    let far = crew_phone.client.close_ticket(id, None, proof_at(north_of_rubbish(300.0), 31)).await.unwrap();
    assert_eq!(far.warnings.len(), 1, "{:?}", far.warnings);
    let warning = &far.warnings[0];
    assert_eq!(warning.index, 0);
    assert!((280.0..320.0).contains(&warning.distance_m), "{warning:?}");
    assert_eq!(warning.limit_m, 150.0);
    assert!(!warning.message.is_empty());
    assert_eq!(crew_phone.client.outbox().await.unwrap().len(), 1, "queued despite the warning");
    server.proxy.set_offline(false);

    // The server refuses it, with its reason in both languages; the ticket is still open.
    let summary = crew_phone.client.sync_now().await.unwrap();
    assert_eq!((summary.acked, summary.rejected, summary.photos_uploaded), (0, 1, 0), "{summary:?}");
    let outbox = crew_phone.client.outbox().await.unwrap();
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    assert_eq!(outbox[0].state, OutboxState::Rejected);
    let rejection = outbox[0].rejection.clone().expect("the reason");
    assert_eq!(rejection.code, "proof_too_far");
    assert_eq!(rejection.field.as_deref(), Some("proof[0].taken_at"));
    assert!(!rejection.message.is_empty() && !rejection.message_ka.is_empty(), "{rejection:?}");
    assert_ne!(rejection.message, rejection.message_ka, "a Georgian message, not the English one again");
    assert!(rejection.message_ka.chars().any(|c| ('\u{10D0}'..='\u{10FF}').contains(&c)), "{rejection:?}");
    let ticket = crew_phone.client.report(id).await.unwrap();
    assert_eq!(ticket.status, "in_progress");
    let refused = ticket.timeline.last().expect("a timeline");
    assert_eq!((refused.action.as_str(), refused.pending), ("close", false));
    assert_eq!(refused.rejection.as_ref(), Some(&rejection), "the ticket shows why the closure was refused");
    assert_eq!(crew_phone.client.sync_status().await.unwrap().pending_items, 0, "a refusal is final");
    assert_eq!(public_report(&server, id).await["status"], "in_progress");
    assert_eq!(
        stored(&probe).await,
        Stored { reports: 1, photos: 1, mutations: 2 },
        "the refusal is remembered; its photo is not stored"
    );

    // The crew walks back and photographs the bins themselves: that closure goes through.
    let near = crew_phone.client.close_ticket(id, None, proof_at(north_of_rubbish(20.0), 32)).await.unwrap();
    assert_eq!(near.warnings, vec![]);
    crew_phone.sync().await;
    let public = public_report(&server, id).await;
    assert_eq!(public["status"], "fixed", "{public}");
    assert_eq!(public["proof_pending"], 0);
    assert_eq!(public["proof_photos"].as_array().unwrap().len(), 1, "only the good proof: {public}");
    let outbox = crew_phone.client.outbox().await.unwrap();
    let states: Vec<_> = outbox.iter().map(|o| o.state).collect();
    assert_eq!(states, [OutboxState::Rejected, OutboxState::Acked], "{outbox:?}");
    assert_eq!(crew_phone.client.report(id).await.unwrap().status, "fixed");
    assert_eq!(stored(&probe).await, Stored { reports: 1, photos: 2, mutations: 3 });
}

async fn a_neighbour_follows_the_reporter_comments_and_disputes_the_closure(backend: Backend) {
    let server = SyncServer::start(backend, |_| {}).await;
    let probe = server.probe().await;
    let nino = resident(&server).await;
    let giorgi = resident(&server).await;
    let reporter_phone = phone_of(&server, &nino).await;
    let (id, view) = reported(&reporter_phone, "The bins have overflowed for a week.").await;

    // Giorgi lives next door; he finds the report on the map and follows it from his phone.
    let neighbour_phone = phone_of(&server, &giorgi).await;
    assert!(neighbour_phone.client.my_reports().await.unwrap().is_empty());
    neighbour_phone.client.follow(id, true).await.unwrap();
    neighbour_phone.sync().await;
    let followed = neighbour_phone.client.report(id).await.expect("a followed report comes down the feed");
    assert!(followed.following && !followed.mine && !followed.assigned_to_me, "{followed:?}");
    assert_eq!(followed.status, "routed");
    assert!(neighbour_phone.client.my_reports().await.unwrap().is_empty(), "following is not reporting");

    // Staff start work; Giorgi's next sync shows it.
    let staff = gldani_staff(&server).await;
    let crew = crew_of(&server, &view).await;
    start_work(&server, &staff, id, &crew).await;
    neighbour_phone.sync().await;
    let followed = neighbour_phone.client.report(id).await.unwrap();
    assert_eq!(followed.status, "in_progress", "{followed:?}");
    assert!(followed.following);

    // Nino adds a comment from her phone: it is on the public timeline once.
    let comment = "The smell reaches the playground.";
    reporter_phone.client.comment(id, comment).await.unwrap();
    let mine = reporter_phone.client.report(id).await.unwrap();
    let queued = mine.timeline.last().unwrap();
    assert_eq!((queued.action.as_str(), queued.note.as_deref(), queued.pending), ("comment", Some(comment), true));
    reporter_phone.sync().await;
    let public = public_report(&server, id).await;
    let comments: Vec<&Value> =
        public["timeline"].as_array().unwrap().iter().filter(|e| e["action"] == "comment").collect();
    assert_eq!(comments.len(), 1, "{public}");
    assert_eq!(comments[0]["public_note"], comment);
    let mine = reporter_phone.client.report(id).await.unwrap();
    let comments: Vec<_> = mine.timeline.iter().filter(|e| e.action == "comment").collect();
    assert_eq!(comments.len(), 1, "synced, not also pending: {:?}", mine.timeline);
    assert!(comments[0].by_me && !comments[0].pending);

    // The crew closes the ticket from its phone.
    let crew_phone = phone_of(&server, &crew).await;
    let closed = crew_phone.client.close_ticket(id, None, proof_at(north_of_rubbish(10.0), 41)).await.unwrap();
    assert_eq!(closed.warnings, vec![]);
    crew_phone.sync().await;
    assert_eq!(public_report(&server, id).await["status"], "fixed");

    // Nino sees it fixed, but the bins are full again: she disputes from her phone.
    reporter_phone.sync().await;
    assert_eq!(reporter_phone.client.report(id).await.unwrap().status, "fixed");
    let reason = "The bins are full again the next day.";
    reporter_phone.client.dispute(id, reason).await.unwrap();
    reporter_phone.sync().await;
    let public = public_report(&server, id).await;
    assert_eq!(public["status"], "reopened", "{public}");
    let last = public["timeline"].as_array().unwrap().last().unwrap();
    assert_eq!((last["action"].as_str(), last["public_note"].as_str()), (Some("dispute"), Some(reason)));
    let mine = reporter_phone.client.report(id).await.unwrap();
    assert_eq!(mine.status, "reopened");
    assert!(!mine.pending, "{mine:?}");

    // Giorgi's feed carried every change.
    neighbour_phone.sync().await;
    let followed = neighbour_phone.client.report(id).await.unwrap();
    assert_eq!(followed.status, "reopened", "{followed:?}");
    assert_eq!(followed.timeline.iter().filter(|e| e.action == "comment").count(), 1);
    assert_eq!(followed.photos.len(), 2, "the report photo and the proof: {:?}", followed.photos);

    // One report; its photo and the proof; one each of create, follow, comment, close, dispute.
    assert_eq!(stored(&probe).await, Stored { reports: 1, photos: 2, mutations: 5 });
    let outbox = reporter_phone.client.outbox().await.unwrap();
    assert!(outbox.iter().all(|o| o.state == OutboxState::Acked), "{outbox:?}");
    assert_eq!(outbox.len(), 3, "create, comment, dispute: {outbox:?}");
}
