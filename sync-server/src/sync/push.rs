//! `POST /api/sync/push`: a phone's outbox, applied mutation by mutation, each at most once.
//!
//! Every mutation is applied in its own transaction together with its `applied_mutations` row
//! (through [`SyncEffects`]), so a resend is answered from what is stored: the same id and hash
//! get the stored result (`duplicate`) or the stored rejection again; the same id with another
//! hash is an `id_conflict`. Business refusals are per-item results; only an internal failure
//! fails the batch (5xx), leaving it queued on the phone.

use crate::error::{ApiError, ApiResult};
use crate::reports::actions::{ActionRequest, act_with};
use crate::reports::submit::submit_pushed_report;
use crate::state::AppState;
use crate::storage::{AppliedMutationRecord, ExpectedPhotoRecord, PhotoKind, StoredOutcome, SyncEffects, UserRecord};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use smartmap_shared::geo::LatLon;
use smartmap_shared::ids::ReportId;
use smartmap_shared::report::{Action, ReportStatus};
use smartmap_shared::sync::{
    CloseTicket, Comment, CreateReport, Dispute, ExpectedPhoto, Follow, MAX_PUSH_BATCH, Mutation, MutationKind,
    Outcome, PushRequest, PushResponse, PushResult, Rejection, check_geofence,
};

/// What an applied report mutation answers (and stores): the report and its status.
pub fn report_result(report: ReportId, status: ReportStatus) -> Value {
    json!({ "report_id": report, "status": status })
}

/// Applies a batch. The batch as a whole is refused only when malformed (too many mutations,
/// mutations of another device); each mutation then gets its own outcome, in order.
#[tracing::instrument(skip_all, fields(user = %user.id, device = %request.device_id, n = request.mutations.len()), err(Debug))]
pub async fn push(state: &AppState, user: &UserRecord, request: PushRequest) -> ApiResult<PushResponse> {
    if request.mutations.len() > MAX_PUSH_BATCH {
        return Err(ApiError::TooLarge {
            field: "mutations".into(),
            message: format!("at most {MAX_PUSH_BATCH} mutations per push, got {}", request.mutations.len()),
        });
    }
    if let Some(i) = request.mutations.iter().position(|m| m.device_id != request.device_id) {
        return Err(ApiError::field(
            format!("mutations[{i}].device_id"),
            "device_mismatch",
            "every mutation of a push must come from the pushing device",
        ));
    }
    let mut results = Vec::with_capacity(request.mutations.len());
    let mut rest = request.mutations.as_slice();
    while let Some(first) = rest.first() {
        // New reports are independent of each other (each has its own id), so a run of them is
        // applied concurrently: on SQLite the group-commit writer then stores the run in one
        // transaction (a savepoint each) instead of one fsync per report. Anything else is
        // applied alone, in order, after what precedes it.
        let run = match first.kind {
            MutationKind::CreateReport => rest.iter().take_while(|m| m.kind == MutationKind::CreateReport).count(),
            _ => 1,
        };
        let (now, later) = rest.split_at(run);
        let outcomes = futures::future::try_join_all(now.iter().map(|m| apply_mutation(state, user, m))).await?;
        for (m, outcome) in now.iter().zip(outcomes) {
            results.push(PushResult { mutation_id: m.mutation_id, outcome });
        }
        rest = later;
    }
    let epoch = state.storage.sync_epoch().await?;
    Ok(PushResponse { results, epoch, server_time: state.clock.now() })
}

/// One mutation: the stored outcome if it was seen before, else applied now (or refused, and
/// the refusal stored). `Err` only for internal failures.
async fn apply_mutation(state: &AppState, user: &UserRecord, m: &Mutation) -> ApiResult<Outcome> {
    if let Some(stored) = state.storage.applied_mutation(m.mutation_id).await? {
        return Ok(replay(&stored, user, m));
    }
    if !m.hash_matches() {
        // Not stored: the claimed hash is not the payload's, so it identifies nothing.
        return Ok(Outcome::Rejected(rejection(
            "payload_hash_mismatch",
            "the payload does not match its sha256; the mutation was corrupted".into(),
            Some("payload_sha256".into()),
        )));
    }
    let applied = if m.v != m.kind.current_version() {
        Err(Refusal::Rejected(rejection(
            "unsupported_version",
            format!(
                "{} version {} is not known to this server (it speaks {})",
                m.kind.as_str(),
                m.v,
                m.kind.current_version()
            ),
            Some("v".into()),
        )))
    } else {
        dispatch(state, user, m).await
    };
    match applied {
        Ok(result) => Ok(Outcome::Applied { result }),
        Err(Refusal::Internal(e)) => Err(e),
        Err(Refusal::AlreadyStored) => stored_again(state, user, m).await,
        Err(Refusal::Rejected(r)) => {
            let record = record_of(state, user, m, StoredOutcome::Rejected(r.clone()));
            match state.storage.record_mutation(&record).await {
                Ok(()) => Ok(Outcome::Rejected(r)),
                // Another delivery of the same mutation was stored meanwhile: answer from it.
                Err(crate::storage::StorageError::Conflict { field: "mutation_id" }) => {
                    stored_again(state, user, m).await
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// The answer for a mutation another delivery stored while this one was being applied.
async fn stored_again(state: &AppState, user: &UserRecord, m: &Mutation) -> ApiResult<Outcome> {
    let stored = state.storage.applied_mutation(m.mutation_id).await?.ok_or_else(|| {
        ApiError::Internal(anyhow::anyhow!("mutation {} conflicted but is not stored", m.mutation_id))
    })?;
    Ok(replay(&stored, user, m))
}

/// A mutation id seen before: the stored outcome again, or an id conflict.
fn replay(stored: &AppliedMutationRecord, user: &UserRecord, m: &Mutation) -> Outcome {
    if stored.payload_sha256 != m.payload_sha256 || stored.user != user.id {
        return Outcome::Rejected(rejection(
            "id_conflict",
            "another mutation was already applied with this id".into(),
            Some("mutation_id".into()),
        ));
    }
    match &stored.outcome {
        StoredOutcome::Applied(result) => Outcome::Duplicate { result: result.clone() },
        StoredOutcome::Rejected(r) => Outcome::Rejected(r.clone()),
    }
}

/// Why a mutation was not applied.
enum Refusal {
    /// For good, for the user to see.
    Rejected(Rejection),
    /// Its id was stored by another delivery meanwhile.
    AlreadyStored,
    /// Something broke; the batch fails and stays queued.
    Internal(ApiError),
}

impl Refusal {
    /// A workflow error as a refusal; `rename` maps the workflow's field names to the payload's.
    fn from_api(e: ApiError, rename: &(dyn Fn(&str) -> String + Sync)) -> Refusal {
        match e {
            ApiError::Internal(_) => Refusal::Internal(e),
            ApiError::Invalid(fields) if fields.iter().any(|f| f.field == "mutation_id") => Refusal::AlreadyStored,
            ApiError::Invalid(fields) => {
                let f = &fields[0];
                Refusal::Rejected(rejection(f.code, f.message.clone(), Some(rename(&f.field))))
            }
            ApiError::TooLarge { field, message } => {
                Refusal::Rejected(rejection("too_large", message, Some(rename(&field))))
            }
            ApiError::Conflict { code, message } => Refusal::Rejected(rejection(code, message, None)),
            ApiError::Forbidden(message) => Refusal::Rejected(rejection("forbidden", message, None)),
            ApiError::NotFound(what) => Refusal::Rejected(rejection(
                "unknown_report",
                format!("there is no such {what}"),
                Some("report_id".into()),
            )),
            other => Refusal::Rejected(rejection(other.code(), other.to_string(), None)),
        }
    }
}

fn same(field: &str) -> String {
    field.to_owned()
}

/// Applies a mutation of a known version by its kind.
async fn dispatch(state: &AppState, user: &UserRecord, m: &Mutation) -> Result<Value, Refusal> {
    match m.kind {
        MutationKind::CreateReport => create_report(state, user, m, payload(m)?).await,
        MutationKind::Comment => {
            let p: Comment = payload(m)?;
            let request = ActionRequest {
                action: Action::Comment,
                public_note: Some(p.text),
                internal_note: None,
                template: None,
            };
            let rename = |f: &str| if f == "public_note" { "text".to_owned() } else { f.to_owned() };
            act_on(state, user, m, p.report_id, request, Vec::new(), &rename).await
        }
        MutationKind::Dispute => {
            let p: Dispute = payload(m)?;
            let request = ActionRequest {
                action: Action::Dispute { reason: p.reason },
                public_note: None,
                internal_note: None,
                template: None,
            };
            act_on(state, user, m, p.report_id, request, Vec::new(), &same).await
        }
        MutationKind::CloseTicket => close_ticket(state, user, m, payload(m)?).await,
        MutationKind::Follow => follow(state, user, m, payload(m)?).await,
    }
}

fn payload<P: DeserializeOwned>(m: &Mutation) -> Result<P, Refusal> {
    serde_json::from_value(m.payload.clone()).map_err(|e| {
        Refusal::Rejected(rejection(
            "invalid_payload",
            format!("the {} payload: {e}", m.kind.as_str()),
            Some("payload".into()),
        ))
    })
}

fn record_of(state: &AppState, user: &UserRecord, m: &Mutation, outcome: StoredOutcome) -> AppliedMutationRecord {
    AppliedMutationRecord {
        mutation_id: m.mutation_id,
        user: user.id,
        device_id: m.device_id,
        device_seq: m.device_seq,
        kind: m.kind.as_str().to_owned(),
        payload_sha256: m.payload_sha256.clone(),
        outcome,
        created_at: state.clock.now(),
    }
}

/// The promised photos as stored, checked: a sha256 each, no repeats, at most `max`.
fn expected(
    field: &str,
    photos: &[ExpectedPhoto],
    kind: PhotoKind,
    max: usize,
) -> Result<Vec<ExpectedPhotoRecord>, Refusal> {
    if photos.len() > max {
        return Err(Refusal::Rejected(rejection(
            "too_many_photos",
            format!("at most {max} photos may be attached"),
            Some(field.to_owned()),
        )));
    }
    let mut out: Vec<ExpectedPhotoRecord> = Vec::with_capacity(photos.len());
    for (i, p) in photos.iter().enumerate() {
        let valid = p.sha256.len() == 64 && p.sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let at = format!("{field}[{i}].sha256");
        if !valid {
            return Err(Refusal::Rejected(rejection("invalid_sha256", "64 lowercase hex digits".into(), Some(at))));
        }
        if out.iter().any(|e| e.upload_sha256 == p.sha256) {
            return Err(Refusal::Rejected(rejection(
                "duplicate_photo",
                "the same photo is promised twice".into(),
                Some(at),
            )));
        }
        out.push(ExpectedPhotoRecord {
            kind,
            upload_sha256: p.sha256.clone(),
            position: i as i64,
            size: i64::try_from(p.size).unwrap_or(i64::MAX),
            taken_at: p.taken_at.map(|t| (t.lat(), t.lon())),
            photo_sha256: None,
        });
    }
    Ok(out)
}

async fn create_report(state: &AppState, user: &UserRecord, m: &Mutation, p: CreateReport) -> Result<Value, Refusal> {
    let expected_photos = expected("photos", &p.photos, PhotoKind::Report, state.settings.max_photos)?;
    // The same JSON `POST /api/reports` takes, so the report goes through the one workflow.
    let form = json!({
        "id": p.report_id,
        "category": p.category,
        "location": { "lat": p.location.lat(), "lon": p.location.lon() },
        "description": p.description,
        "address": p.address,
        "hide_name": p.hide_name,
    });
    let raw = serde_json::to_vec(&form).expect("JSON values serialize");
    let placeholder = StoredOutcome::Applied(Value::Null);
    let sync = SyncEffects { mutation: Some(record_of(state, user, m, placeholder)), expected_photos };
    let submitted = submit_pushed_report(state, user, &raw, m.payload_sha256.clone(), sync)
        .await
        .map_err(|e| Refusal::from_api(e, &same))?;
    let result = report_result(submitted.report.id, submitted.report.status);
    if submitted.replayed {
        // The report was stored before without this mutation (a retry that came through
        // `POST /api/reports`, or a lost race): remember the mutation so resends are duplicates.
        let record = record_of(state, user, m, StoredOutcome::Applied(result.clone()));
        match state.storage.record_mutation(&record).await {
            Ok(()) => {}
            Err(crate::storage::StorageError::Conflict { field: "mutation_id" }) => return Err(Refusal::AlreadyStored),
            Err(e) => return Err(Refusal::Internal(e.into())),
        }
    }
    claim_staged(state, submitted.report.id, PhotoKind::Report, user).await?;
    Ok(result)
}

async fn close_ticket(state: &AppState, user: &UserRecord, m: &Mutation, p: CloseTicket) -> Result<Value, Refusal> {
    let report = state
        .storage
        .report(p.report_id)
        .await
        .map_err(|e| Refusal::Internal(e.into()))?
        .ok_or_else(|| Refusal::from_api(ApiError::NotFound("report"), &same))?;
    let place = LatLon::new(report.lat, report.lon).map_err(|e| Refusal::Internal(ApiError::Internal(e.into())))?;
    for (i, photo) in p.proof.iter().enumerate() {
        let field = Some(format!("proof[{i}].taken_at"));
        let Some(taken_at) = photo.taken_at else {
            return Err(Refusal::Rejected(rejection(
                "proof_location_required",
                "a proof photo must say where it was taken".into(),
                field,
            )));
        };
        if let Err(far) = check_geofence(place, taken_at, state.settings.proof_geofence_m) {
            return Err(Refusal::Rejected(rejection("proof_too_far", far.to_string(), field)));
        }
    }
    let expected_photos = expected("proof", &p.proof, PhotoKind::Proof, state.settings.max_photos)?;
    let request = ActionRequest {
        action: Action::MarkFixed { proof_photos: 0 },
        public_note: p.public_note,
        internal_note: None,
        template: None,
    };
    let rename = |f: &str| if f == "photos" { "proof".to_owned() } else { f.to_owned() };
    let result = act_on(state, user, m, p.report_id, request, expected_photos, &rename).await?;
    claim_staged(state, p.report_id, PhotoKind::Proof, user).await?;
    Ok(result)
}

async fn act_on(
    state: &AppState,
    user: &UserRecord,
    m: &Mutation,
    report: ReportId,
    request: ActionRequest,
    expected_photos: Vec<ExpectedPhotoRecord>,
    rename: &(dyn Fn(&str) -> String + Sync),
) -> Result<Value, Refusal> {
    // A staff change landing between reading the report and storing this one is not the
    // user's fault: try again on the fresh report before answering.
    let mut attempts = 0;
    loop {
        attempts += 1;
        let placeholder = StoredOutcome::Applied(Value::Null);
        let sync = SyncEffects {
            mutation: Some(record_of(state, user, m, placeholder)),
            expected_photos: expected_photos.clone(),
        };
        let request = ActionRequest {
            action: request.action.clone(),
            public_note: request.public_note.clone(),
            internal_note: request.internal_note.clone(),
            template: request.template.clone(),
        };
        match act_with(state, user, report, request, Vec::new(), sync).await {
            Ok(done) => return Ok(report_result(done.id, done.status)),
            Err(ApiError::Conflict { code: "changed_meanwhile", .. }) if attempts < 3 => continue,
            Err(e) => return Err(Refusal::from_api(e, rename)),
        }
    }
}

async fn follow(state: &AppState, user: &UserRecord, m: &Mutation, p: Follow) -> Result<Value, Refusal> {
    let report = state.storage.report(p.report_id).await.map_err(|e| Refusal::Internal(e.into()))?;
    if report.is_none_or(|r| r.hidden) {
        return Err(Refusal::from_api(ApiError::NotFound("report"), &same));
    }
    let result = json!({ "report_id": p.report_id, "following": p.follow });
    let record = record_of(state, user, m, StoredOutcome::Applied(result.clone()));
    match state.storage.set_follow(user.id, p.report_id, p.follow, record.created_at, Some(&record)).await {
        Ok(()) => Ok(result),
        Err(crate::storage::StorageError::Conflict { field: "mutation_id" }) => Err(Refusal::AlreadyStored),
        Err(e) => Err(Refusal::Internal(e.into())),
    }
}

/// Photos whose upload finished before their mutation landed are attached now.
async fn claim_staged(state: &AppState, report: ReportId, kind: PhotoKind, user: &UserRecord) -> Result<(), Refusal> {
    state.storage.claim_staged_photos(report, kind, user.id).await.map_err(|e| Refusal::Internal(e.into()))?;
    Ok(())
}

/// A rejection with its Georgian message.
fn rejection(code: &str, message: String, field: Option<String>) -> Rejection {
    Rejection { code: code.to_owned(), message_ka: georgian(code).to_owned(), message, field }
}

/// The Georgian message for a rejection code (the English one carries the specifics).
fn georgian(code: &str) -> &'static str {
    match code {
        "id_conflict" => "ამ იდენტიფიკატორით სხვა მოქმედება უკვე შესრულდა",
        "payload_hash_mismatch" => "მონაცემები დაზიანებულია",
        "unsupported_version" => "აპლიკაციის ეს ვერსია სერვერს არ ესმის; განაახლეთ აპლიკაცია",
        "invalid_payload" => "მონაცემები ვერ წავიკითხეთ",
        "unknown_category" => "ასეთი კატეგორია არ არსებობს",
        "inactive_category" => "ეს კატეგორია აღარ იღებს შეტყობინებებს",
        "invalid_coordinates" => "მდებარეობა არასწორია",
        "outside_tbilisi" => "მდებარეობა თბილისის საზღვრებს გარეთაა",
        "required" => "აუცილებელი ველი ცარიელია",
        "too_long" => "ტექსტი ძალიან გრძელია",
        "too_many_photos" => "ძალიან ბევრი ფოტოა",
        "invalid_sha256" | "duplicate_photo" => "ფოტოს მონაცემები არასწორია",
        "unknown_report" => "ასეთი შეტყობინება არ არსებობს",
        "forbidden" => "ამის უფლება არ გაქვთ",
        "illegal_transition" => "ეს მოქმედება შეტყობინების ახლანდელ მდგომარეობაში დაუშვებელია",
        "dispute_window_closed" => "გასაჩივრების ვადა ამოიწურა",
        "reason_required" => "მიუთითეთ მიზეზი",
        "proof_photo_required" => "საჭიროა მინიმუმ ერთი დამადასტურებელი ფოტო",
        "proof_location_required" => "მიუთითეთ, სად არის გადაღებული დამადასტურებელი ფოტო",
        "proof_too_far" => "დამადასტურებელი ფოტო გადაღებულია შეტყობინების ადგილიდან ძალიან შორს",
        "changed_meanwhile" => "შეტყობინება ამასობაში შეიცვალა; სცადეთ ხელახლა",
        _ => "მოთხოვნა უარყოფილია",
    }
}
