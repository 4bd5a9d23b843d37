//! Reports as Open311 service requests: the field mapping, `GET requests` with every standard
//! filter and the default window, one request, and a token's request.
//!
//! | Open311 | from |
//! |---|---|
//! | `service_request_id` | the report's public number, as text |
//! | `status` | `closed` for fixed, duplicate and no_action; `open` otherwise |
//! | `status_notes` | the latest public note of its timeline |
//! | `agency_responsible` | the English name of the body it is routed to |
//! | `service_notice` | the category's response deadline, in words |
//! | `requested_datetime` / `expected_datetime` | received / its deadline |
//! | `updated_datetime` | when it closed, for a closed request; else its last change |
//! | `media_url` | its first photo (a proof photo when it has no other), as an absolute URL |
//!
//! Hidden reports are not public and so are not here either. `extensions=true` adds
//! `extended_attributes` (our own fields) and `notes` (the public timeline).

use super::describe::segment;
use super::document::{Document, Format, Node};
use super::errors::{InFormat, Open311Error, Open311Result};
use super::params::{MAX_PAGE_SIZE, Params, base_url, check_jurisdiction, split_format, w3c, window};
use crate::state::{AppState, Reference};
use crate::storage::{EventRecord, PhotoKind, PhotoRecord, ReportQuery, ReportRecord};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use smartmap_shared::ids::{CategoryId, ReportId};
use smartmap_shared::report::ReportStatus;
use std::collections::HashMap;

/// A report's photos and public timeline, read in one batch for a page of reports.
#[derive(Default)]
pub struct Extras {
    events: HashMap<ReportId, Vec<EventRecord>>,
    photos: HashMap<ReportId, Vec<PhotoRecord>>,
}

impl Extras {
    /// The timelines and photos of `reports`.
    pub async fn load(state: &AppState, reports: &[ReportRecord], format: Format) -> Open311Result<Extras> {
        let ids: Vec<ReportId> = reports.iter().map(|r| r.id).collect();
        let mut extras = Extras::default();
        for (id, event) in state.storage.events_of_reports(&ids).await.in_format(format)? {
            extras.events.entry(id).or_default().push(event);
        }
        for (id, photo) in state.storage.photos_of_reports(&ids).await.in_format(format)? {
            extras.photos.entry(id).or_default().push(photo);
        }
        Ok(extras)
    }

    fn events(&self, id: ReportId) -> &[EventRecord] {
        self.events.get(&id).map_or(&[], Vec::as_slice)
    }

    fn photos(&self, id: ReportId) -> &[PhotoRecord] {
        self.photos.get(&id).map_or(&[], Vec::as_slice)
    }
}

/// Open311's two statuses.
pub fn open_or_closed(status: ReportStatus) -> &'static str {
    if status.is_closed() { "closed" } else { "open" }
}

/// Timeline entries the public does not see.
pub const STAFF_ONLY_ACTIONS: [&str; 2] = ["hide", "unhide"];

/// "What to expect": the category's response deadline, and who answers.
pub fn service_notice(reference: &Reference, r: &ReportRecord) -> Option<String> {
    let category = reference.category(&r.category)?;
    let body = r.body.as_ref().and_then(|b| reference.body(b)).map_or("The responsible body", |b| b.name.en.as_str());
    let unit = match category.sla.unit {
        smartmap_shared::sla::SlaUnit::WorkingDays => "working days",
        smartmap_shared::sla::SlaUnit::WorkingHours => "working hours",
    };
    Some(format!(
        "{body} is to respond within {} {unit}, counted on the Georgian working calendar; \
         expected_datetime is the deadline.",
        category.sla.amount
    ))
}

/// The absolute URL of a photo.
pub fn photo_url(base: &str, p: &PhotoRecord) -> String {
    format!("{base}/media/{}.jpg", p.sha256)
}

/// A short English summary of a timeline entry, for `notes`.
fn summary(e: &EventRecord, reference: &Reference) -> String {
    let body_name = |key: &str| {
        e.data[key]
            .as_str()
            .and_then(|b| smartmap_shared::ids::BodyId::parse(b).ok())
            .and_then(|b| reference.body(&b).map(|b| b.name.en.clone()))
            .unwrap_or_else(|| "another body".into())
    };
    match e.action.as_str() {
        "submit" => "Request received".into(),
        "route" => format!("Routed to {}", body_name("body")),
        "acknowledge" => "Acknowledged by the responsible body".into(),
        "assign_crew" => "A field crew is assigned".into(),
        "mark_fixed" => "Fixed".into(),
        "not_responsible" => format!("Passed on to {}", body_name("body")),
        "mark_duplicate" => match e.data["original_number"].as_i64() {
            Some(n) => format!("Closed as a duplicate of request {n}"),
            None => "Closed as a duplicate".into(),
        },
        "no_action" => "Closed: no action will be taken".into(),
        "dispute" => "Reopened: the reporter disputed the closure".into(),
        "respond" => "Response".into(),
        "overdue" => "Past its deadline".into(),
        other => other.replace('_', " "),
    }
}

/// A report as a service request.
pub fn request_node(r: &ReportRecord, extras: &Extras, reference: &Reference, base: &str, extensions: bool) -> Node {
    let category = reference.category(&r.category);
    let body = r.body.as_ref().and_then(|b| reference.body(b));
    let events: Vec<&EventRecord> =
        extras.events(r.id).iter().filter(|e| !STAFF_ONLY_ACTIONS.contains(&e.action.as_str())).collect();
    let photos = extras.photos(r.id);
    let status_notes = events.iter().rev().find_map(|e| e.public_note.clone());
    let first_photo =
        photos.iter().find(|p| p.kind == PhotoKind::Report).or_else(|| photos.first()).map(|p| photo_url(base, p));
    let updated = match (r.status.is_closed(), r.closed_at) {
        (true, Some(closed)) => closed,
        _ => r.updated_at,
    };
    let mut fields = vec![
        ("service_request_id", Node::text(r.number.to_string())),
        ("status", Node::text(open_or_closed(r.status))),
        ("status_notes", Node::opt_text(status_notes)),
        ("service_name", Node::opt_text(category.map(|c| c.name.en.clone()))),
        ("service_code", Node::text(r.category.as_str())),
        ("description", Node::text(r.description.clone())),
        ("agency_responsible", Node::opt_text(body.map(|b| b.name.en.clone()))),
        ("service_notice", Node::opt_text(service_notice(reference, r))),
        ("requested_datetime", Node::text(w3c(r.created_at))),
        ("updated_datetime", Node::text(w3c(updated))),
        ("expected_datetime", Node::opt_text(r.deadline.map(w3c))),
        ("address", Node::opt_text(r.address.clone())),
        ("address_id", Node::Null),
        ("zipcode", Node::Null),
        ("lat", Node::Float(r.lat)),
        ("long", Node::Float(r.lon)),
        ("media_url", Node::opt_text(first_photo)),
    ];
    if extensions {
        let urls = |kind: PhotoKind| {
            let items = photos.iter().filter(|p| p.kind == kind).map(|p| Node::text(photo_url(base, p))).collect();
            Node::List("photo", items)
        };
        let duplicate_of =
            events.iter().rev().find(|e| e.action == "mark_duplicate").and_then(|e| e.data["original_number"].as_i64());
        let district = reference.districts.get(&r.district);
        fields.push((
            "extended_attributes",
            Node::Record(vec![
                ("id", Node::text(r.id.to_string())),
                ("status", Node::text(r.status.as_str())),
                ("overdue", Node::Bool(crate::reports::views::is_overdue(r))),
                ("district", Node::text(r.district.as_str())),
                ("district_name", Node::opt_text(district.map(|d| d.name.en.clone()))),
                ("agency_id", Node::opt_text(r.body.as_ref().map(|b| b.as_str()))),
                ("agency_responsible_ka", Node::opt_text(body.map(|b| b.name.ka.clone()))),
                ("service_name_ka", Node::opt_text(category.map(|c| c.name.ka.clone()))),
                ("closed_datetime", Node::opt_text(r.closed_at.map(w3c))),
                ("duplicate_of", Node::opt_text(duplicate_of.map(|n| n.to_string()))),
                ("photos", urls(PhotoKind::Report)),
                ("proof_photos", urls(PhotoKind::Proof)),
            ]),
        ));
        let notes = events
            .iter()
            .map(|e| {
                Node::Record(vec![
                    ("datetime", Node::text(w3c(e.at))),
                    ("type", Node::text(e.action.clone())),
                    ("summary", Node::text(summary(e, reference))),
                    ("status", Node::text(open_or_closed(e.to_status))),
                    ("extended_status", Node::text(e.to_status.as_str())),
                    ("description", Node::opt_text(e.public_note.clone())),
                ])
            })
            .collect();
        fields.push(("notes", Node::List("note", notes)));
    }
    Node::Record(fields)
}

/// The answer listing `reports`.
async fn requests_document(
    state: &AppState,
    headers: &HeaderMap,
    reports: &[ReportRecord],
    extensions: bool,
    format: Format,
) -> Open311Result<Document> {
    let extras = Extras::load(state, reports, format).await?;
    let reference = state.reference();
    let base = base_url(state.settings.public_url.as_deref(), headers);
    let items = reports.iter().map(|r| request_node(r, &extras, &reference, &base, extensions)).collect();
    Ok(Document::list("service_requests", "request", items))
}

/// A public report by the id a client holds: its number, or (leniently) its UUID.
async fn public_report(state: &AppState, id: &str, format: Format) -> Open311Result<Option<ReportRecord>> {
    let report = if let Ok(number) = id.parse::<i64>() {
        state.storage.report_by_number(number).await.in_format(format)?
    } else if let Ok(uuid) = uuid::Uuid::parse_str(id) {
        state.storage.report(ReportId(uuid)).await.in_format(format)?
    } else {
        None
    };
    Ok(report.filter(|r| !r.hidden))
}

/// Turns the filters of `GET requests` into a storage query.
fn filters(state: &AppState, params: &Params, format: Format) -> Open311Result<ReportQuery> {
    let reference = state.reference();
    let mut q = ReportQuery { public_only: true, ..ReportQuery::default() };
    let mut problems = Vec::new();
    for code in params.list("service_code") {
        match CategoryId::parse(code).ok().filter(|c| reference.category(c).is_some()) {
            Some(c) => q.categories.push(c),
            None => problems.push(format!("service_code: there is no service '{code}'")),
        }
    }
    let (mut open, mut closed) = (false, false);
    for status in params.list("status") {
        match status.to_ascii_lowercase().as_str() {
            "open" => open = true,
            "closed" => closed = true,
            other => problems.push(format!("status: '{other}' is neither open nor closed")),
        }
    }
    if open != closed {
        q.statuses = ReportStatus::ALL.into_iter().filter(|s| s.is_closed() == closed).collect();
    }
    if !problems.is_empty() {
        return Err(Open311Error::invalid(format, problems));
    }
    Ok(q)
}

/// `GET /open311/v2/requests.{format}`.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Open311Result<Response> {
    let format = super::params::format_of(&segment(path)?)?;
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    check_jurisdiction(&params, format)?;
    let extensions = params.flag("extensions", format)?;
    let ids = params.list("service_request_id");
    let reports = if !ids.is_empty() {
        // "This overrides all other arguments."
        if ids.len() > MAX_PAGE_SIZE as usize {
            return Err(Open311Error::bad_request(
                format,
                format!("service_request_id: at most {MAX_PAGE_SIZE} ids at once"),
            ));
        }
        let mut found: Vec<ReportRecord> = Vec::new();
        for id in ids {
            if let Some(r) = public_report(&state, id, format).await?
                && !found.iter().any(|f| f.id == r.id)
            {
                found.push(r);
            }
        }
        found
    } else {
        let (page, page_size) = params.page(format)?;
        let mut q = filters(&state, &params, format)?;
        let updated = window(&params, ("updated_after", "updated_before"), None, format)?;
        // The spec's default window applies unless the client chose one on either time axis.
        let default_to = updated.is_none().then(|| state.clock.now());
        if let Some(requested) = window(&params, ("start_date", "end_date"), default_to, format)? {
            q.from = Some(requested.from);
            q.to = Some(requested.end_exclusive());
        }
        q.limit = page_size;
        q.offset = u64::from(page - 1) * u64::from(page_size);
        // `updated_after`/`updated_before` are exclusive, as their names say.
        let (after, before) = updated.map_or((None, None), |w| (Some(w.from), Some(w.to)));
        state.storage.query_reports_changed(&q, after, before).await.in_format(format)?
    };
    let doc = requests_document(&state, &headers, &reports, extensions, format).await?;
    Ok(doc.respond(format, StatusCode::OK))
}

/// `GET /open311/v2/requests/{service_request_id}.{format}`.
pub async fn one(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Open311Result<Response> {
    let segment = segment(path)?;
    let (id, format) = split_format(&segment)?;
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    check_jurisdiction(&params, format)?;
    let extensions = params.flag("extensions", format)?;
    let report = public_report(&state, id, format)
        .await?
        .ok_or_else(|| Open311Error::not_found(format, format!("service_request_id '{id}' was not found")))?;
    let doc = requests_document(&state, &headers, &[report], extensions, format).await?;
    Ok(doc.respond(format, StatusCode::OK))
}

/// `GET /open311/v2/tokens/{token}.{format}`: the request a POST's token stands for.
pub async fn token(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Open311Result<Response> {
    let segment = segment(path)?;
    let (token, format) = split_format(&segment)?;
    check_jurisdiction(&Params::parse(query.unwrap_or_default().as_bytes()), format)?;
    let not_found = || Open311Error::not_found(format, format!("token '{token}' was not found"));
    let submission = state.storage.open311_submission(token).await.in_format(format)?.ok_or_else(not_found)?;
    // A report a moderator hid is off the public record, its token included.
    let report =
        state.storage.report(submission.report).await.in_format(format)?.filter(|r| !r.hidden).ok_or_else(not_found)?;
    let doc = Document::list(
        "service_requests",
        "request",
        vec![Node::Record(vec![
            ("service_request_id", Node::text(report.number.to_string())),
            ("token", Node::text(submission.token)),
        ])],
    );
    Ok(doc.respond(format, StatusCode::OK))
}
