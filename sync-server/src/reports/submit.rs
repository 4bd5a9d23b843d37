//! Submitting a report: parse, locate, route, start the clock, store atomically.

use super::photos;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::state::{AppState, Reference};
use crate::storage::{
    EventRecord, NewReport, Open311SubmissionRecord, PhotoKind, PhotoRecord, ReportRecord, StorageError, StoredOutcome,
    SyncEffects, UserRecord,
};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use smartmap_shared::category::Category;
use smartmap_shared::geo::LatLon;
use smartmap_shared::ids::{CategoryId, DistrictId, ReportId};
use smartmap_shared::preview::{Plan, plan};
use smartmap_shared::report::{Action, ReportStatus, TransitionContext, transition};

/// The JSON a reporter sends (the `report` part of the multipart form, or the whole JSON body).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitReport {
    /// A client-minted UUID, so that a retried submission is recognised and stored once.
    pub id: Option<uuid::Uuid>,
    /// Category slug.
    pub category: String,
    /// Where the problem is.
    pub location: Location,
    /// What is wrong.
    pub description: String,
    /// Street address, if the reporter knows it.
    pub address: Option<String>,
    /// Hide the reporter's name from staff too (it is never public).
    #[serde(default)]
    pub hide_name: bool,
}

/// Coordinates as sent, checked by [`LatLon::new`].
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct Location {
    /// Latitude, degrees north.
    pub lat: f64,
    /// Longitude, degrees east.
    pub lon: f64,
}

/// What came back from a submission: the stored report, and whether this was a retry of one
/// already stored.
pub struct Submitted {
    /// The report.
    pub report: ReportRecord,
    /// Its photos and timeline as stored; `None` for a replay (the caller reads them).
    pub stored: Option<(Vec<PhotoRecord>, Vec<EventRecord>)>,
    /// `true` when the same submission had already been accepted.
    pub replayed: bool,
}

const MAX_ADDRESS_CHARS: usize = 300;

/// Validates and stores a report with its photos. All field problems are reported together.
pub async fn submit_report(
    state: &AppState,
    reporter: &UserRecord,
    raw_json: &[u8],
    uploads: Vec<Bytes>,
) -> ApiResult<Submitted> {
    submit_report_via(state, reporter, raw_json, uploads, None).await
}

/// [`submit_report`] for a report that arrived through Open311: the app's companion record (token,
/// private contact details) is stored in the same transaction as the report. Its `report` field is
/// filled in here.
pub async fn submit_report_via(
    state: &AppState,
    reporter: &UserRecord,
    raw_json: &[u8],
    uploads: Vec<Bytes>,
    open311: Option<Open311SubmissionRecord>,
) -> ApiResult<Submitted> {
    let payload_sha256 = payload_hash(raw_json, &uploads);
    store_submission(state, reporter, raw_json, uploads, payload_sha256, open311, SyncEffects::default()).await
}

/// [`submit_report`] for a `report.create` mutation pushed from a phone: its photos are promised
/// (`sync.expected_photos`), not attached, and its `applied_mutations` row is stored in the same
/// transaction as the report. The report's payload hash is the mutation's, so a retry is
/// recognised by it. A mutation id already stored surfaces as `Conflict { field: "mutation_id" }`
/// (as an [`ApiError::Invalid`] on `mutation_id`).
pub async fn submit_pushed_report(
    state: &AppState,
    reporter: &UserRecord,
    raw_json: &[u8],
    payload_sha256: String,
    sync: SyncEffects,
) -> ApiResult<Submitted> {
    store_submission(state, reporter, raw_json, Vec::new(), payload_sha256, None, sync).await
}

#[tracing::instrument(skip_all, fields(reporter = %reporter.id), err(Debug))]
async fn store_submission(
    state: &AppState,
    reporter: &UserRecord,
    raw_json: &[u8],
    uploads: Vec<Bytes>,
    payload_sha256: String,
    open311: Option<Open311SubmissionRecord>,
    mut sync: SyncEffects,
) -> ApiResult<Submitted> {
    let form: SubmitReport = crate::http::extract::parse_json("the report", raw_json)?;
    let reference = state.reference();
    let mut errors = Vec::new();
    let category = reportable_category(&reference, &form.category).map_err(|e| errors.push(e)).ok();
    let located = locate(&reference, form.location.lat, form.location.lon).map_err(|e| errors.push(e)).ok();
    let mut problem = |field: &str, code: &'static str, message: String| {
        errors.push(FieldError { field: field.into(), code, message })
    };
    let description = form.description.trim().to_owned();
    let chars = description.chars().count();
    if chars == 0 {
        problem("description", "required", "describe the problem".into());
    } else if chars > state.settings.max_description_chars {
        problem(
            "description",
            "too_long",
            format!("at most {} characters, got {chars}", state.settings.max_description_chars),
        );
    }
    let address = form.address.map(|a| a.trim().to_owned()).filter(|a| !a.is_empty());
    if address.as_ref().is_some_and(|a| a.chars().count() > MAX_ADDRESS_CHARS) {
        problem("address", "too_long", format!("at most {MAX_ADDRESS_CHARS} characters"));
    }
    let (Some(category), Some((point, district)), true) = (category, located, errors.is_empty()) else {
        return Err(ApiError::Invalid(errors));
    };

    // A client-minted id makes retries safe; a retry must not redo photo work or store anything
    // twice, so it is answered from what is stored. A server-minted id is new by construction.
    let id = match form.id {
        Some(client_id) => {
            let id = ReportId(client_id);
            if let Some(existing) = state.storage.report(id).await? {
                return replay(existing, reporter, &payload_sha256);
            }
            id
        }
        None => ReportId::new_v7(),
    };

    let photos = photos::intake(state, uploads, PhotoKind::Report).await?;
    let retry_sha256 = payload_sha256.clone();
    let now = state.clock.now();
    // The routed body's own deadline for this category, if an admin set one, else the category's.
    let Plan { route, deadline, .. } = plan_route(&reference, &category, &district, now);
    let ctx = TransitionContext {
        report: id,
        body: None,
        closed_at: None,
        dispute_window: chrono::Duration::days(state.settings.dispute_window_days),
        now,
    };
    let routed = transition(ReportStatus::Submitted, &Action::Route { body: route.body.clone() }, &ctx)?;

    let report = ReportRecord {
        id,
        number: 0,
        category: category.id.clone(),
        district,
        body: Some(route.body.clone()),
        status: routed,
        lat: point.lat(),
        lon: point.lon(),
        description,
        address,
        reporter: reporter.id,
        hide_reporter_name: form.hide_name,
        crew: None,
        duplicate_of: None,
        created_at: now,
        routed_at: Some(now),
        deadline: Some(deadline),
        closed_at: None,
        overdue_at: None,
        updated_at: now,
        version: 1,
        payload_sha256,
        hidden: false,
    };
    let events = vec![
        EventRecord {
            at: now,
            actor: Some(reporter.id),
            actor_role: Some(reporter.role),
            action: "submit".into(),
            from_status: None,
            to_status: ReportStatus::Submitted,
            public_note: None,
            internal_note: None,
            data: serde_json::json!({}),
        },
        EventRecord {
            at: now,
            actor: None,
            actor_role: None,
            action: "route".into(),
            from_status: Some(ReportStatus::Submitted),
            to_status: routed,
            public_note: None,
            internal_note: None,
            data: serde_json::json!({ "body": route.body, "deadline": deadline, "matched": format!("{:?}", route.matched) }),
        },
    ];
    let open311 = open311.map(|companion| Open311SubmissionRecord { report: id, ..companion });
    if let Some(m) = &mut sync.mutation {
        m.outcome = StoredOutcome::Applied(crate::sync::push::report_result(id, routed));
    }
    let new = NewReport { report, photos, events, open311, sync };
    match state.storage.insert_report(&new).await {
        Ok(report) => Ok(Submitted { report, stored: Some((new.photos, new.events)), replayed: false }),
        // Two copies of one submission raced; the other one won.
        Err(StorageError::Conflict { field: "id" }) => {
            let existing = state.storage.report(id).await?.ok_or(ApiError::NotFound("report"))?;
            replay(existing, reporter, &retry_sha256)
        }
        Err(e) => Err(e.into()),
    }
}

/// The category a new report may be filed under: one that exists and still takes reports.
pub fn reportable_category(reference: &Reference, raw: &str) -> Result<Category, FieldError> {
    match CategoryId::parse(raw).ok().and_then(|id| reference.category(&id)) {
        Some(c) if c.active => Ok(c.clone()),
        Some(_) => Err(FieldError {
            field: "category".into(),
            code: "inactive_category",
            message: format!("category '{raw}' no longer takes reports"),
        }),
        None => Err(FieldError {
            field: "category".into(),
            code: "unknown_category",
            message: format!("there is no category '{raw}'"),
        }),
    }
}

/// Where a new report lies: valid coordinates inside a district of Tbilisi (errors name
/// `location`).
pub fn locate(reference: &Reference, lat: f64, lon: f64) -> Result<(LatLon, DistrictId), FieldError> {
    let point = LatLon::new(lat, lon).map_err(|e| FieldError {
        field: "location".into(),
        code: "invalid_coordinates",
        message: e.to_string(),
    })?;
    let district = reference.districts.locate(point).ok_or_else(|| FieldError {
        field: "location".into(),
        code: "outside_tbilisi",
        message: "the location is not inside any district of Tbilisi".into(),
    })?;
    Ok((point, district.id.clone()))
}

/// The body and deadline of a report of `category` in `district` arriving at `now`: what
/// submission stores and what `GET /api/preview` shows.
pub fn plan_route(reference: &Reference, category: &Category, district: &DistrictId, now: DateTime<Utc>) -> Plan {
    plan(&reference.routing, &reference.sla_overrides, &reference.calendar, &category.id, category.sla, district, now)
}

/// A submission whose id is already stored: the same reporter sending the same payload gets the
/// stored report back; anything else is an id conflict.
fn replay(existing: ReportRecord, reporter: &UserRecord, payload_sha256: &str) -> ApiResult<Submitted> {
    if existing.reporter == reporter.id && existing.payload_sha256 == payload_sha256 {
        Ok(Submitted { report: existing, stored: None, replayed: true })
    } else {
        Err(ApiError::Conflict {
            code: "id_conflict",
            message: "a different report was already submitted with this id".into(),
        })
    }
}

/// The identity of a submission: its JSON and its photos' bytes, in order.
fn payload_hash(raw_json: &[u8], uploads: &[Bytes]) -> String {
    let mut hasher = Sha256::new();
    hasher.update((raw_json.len() as u64).to_be_bytes());
    hasher.update(raw_json);
    for photo in uploads {
        hasher.update(Sha256::digest(photo));
    }
    hex::encode(hasher.finalize())
}
