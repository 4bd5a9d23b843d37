//! `GET /open311/v2/servicerequestupdates.{format}`: mySociety's extension (the feed FixMyStreet
//! reads to learn what happened to reports), one `request_update` per public timeline entry
//! after a request's creation, oldest first so a client can replay them in order.
//!
//! Statuses are FixMyStreet's extended ones, from our state machine:
//!
//! | ours | update `status` |
//! |---|---|
//! | routed, reopened (and `submitted`) | `OPEN` |
//! | re-routed to another body (`not_responsible`) | `INTERNAL_REFERRAL` |
//! | acknowledged | `INVESTIGATING` |
//! | in_progress | `IN_PROGRESS` |
//! | fixed | `FIXED` |
//! | duplicate | `DUPLICATE` |
//! | no_action | `NO_FURTHER_ACTION` |
//!
//! A reopened request is `OPEN` (FixMyStreet has no "reopened" state; `OPEN` reopens a closed
//! problem there); `external_status_code` carries our own status name, so nothing is lost.

use super::describe::segment;
use super::document::{Document, Node};
use super::errors::{InFormat, Open311Result};
use super::params::{Params, base_url, check_jurisdiction, format_of, w3c, window};
use super::requests::{STAFF_ONLY_ACTIONS, photo_url};
use crate::state::AppState;
use crate::storage::{EventRecord, EventWindow, PhotoKind, PhotoRecord};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use smartmap_shared::ids::ReportId;
use smartmap_shared::report::ReportStatus;
use std::collections::HashMap;

/// Timeline entries that are the request's creation rather than updates to it.
const NOT_UPDATES: [&str; 2] = ["submit", "route"];

/// The extended status an entry leaves its request in.
pub fn extended_status(e: &EventRecord) -> &'static str {
    if e.action == "not_responsible" {
        return "INTERNAL_REFERRAL";
    }
    match e.to_status {
        ReportStatus::Submitted | ReportStatus::Routed | ReportStatus::Reopened => "OPEN",
        ReportStatus::Acknowledged => "INVESTIGATING",
        ReportStatus::InProgress => "IN_PROGRESS",
        ReportStatus::Fixed => "FIXED",
        ReportStatus::Duplicate => "DUPLICATE",
        ReportStatus::NoAction => "NO_FURTHER_ACTION",
    }
}

/// The proof photo of a fixed-closure: the report's first proof photo taken at or after it.
fn proof_photo<'a>(photos: &'a [PhotoRecord], e: &EventRecord) -> Option<&'a PhotoRecord> {
    if e.action != "mark_fixed" {
        return None;
    }
    photos.iter().filter(|p| p.kind == PhotoKind::Proof && p.created_at >= e.at).min_by_key(|p| p.created_at)
}

/// The feed: `start_date`/`end_date` (the most recent 90 days by default, at most 90 days),
/// `page`/`page_size`.
pub async fn feed(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Open311Result<Response> {
    let format = format_of(&segment(path)?)?;
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    check_jurisdiction(&params, format)?;
    let (page, page_size) = params.page(format)?;
    let range = window(&params, ("start_date", "end_date"), Some(state.clock.now()), format)?;
    let skip_actions = NOT_UPDATES.iter().chain(STAFF_ONLY_ACTIONS.iter()).map(|a| (*a).to_owned()).collect();
    let entries = state
        .storage
        .events_between(&EventWindow {
            from: range.map(|w| w.from),
            to: range.map(|w| w.end_exclusive()),
            skip_actions,
            public_only: true,
            limit: page_size,
            offset: u64::from(page - 1) * u64::from(page_size),
        })
        .await
        .in_format(format)?;

    let fixed: Vec<ReportId> = entries.iter().filter(|e| e.event.action == "mark_fixed").map(|e| e.report).collect();
    let mut photos: HashMap<ReportId, Vec<PhotoRecord>> = HashMap::new();
    for (id, photo) in state.storage.photos_of_reports(&fixed).await.in_format(format)? {
        photos.entry(id).or_default().push(photo);
    }
    let base = base_url(state.settings.public_url.as_deref(), &headers);
    let items = entries
        .iter()
        .map(|entry| {
            let e = &entry.event;
            let media = photos.get(&entry.report).and_then(|p| proof_photo(p, e)).map(|p| photo_url(&base, p));
            Node::Record(vec![
                ("update_id", Node::text(entry.seq.to_string())),
                ("service_request_id", Node::text(entry.number.to_string())),
                ("status", Node::text(extended_status(e))),
                ("updated_datetime", Node::text(w3c(e.at))),
                ("description", Node::text(e.public_note.clone().unwrap_or_default())),
                ("media_url", Node::opt_text(media)),
                ("external_status_code", Node::text(e.to_status.as_str())),
            ])
        })
        .collect();
    Ok(Document::list("service_request_updates", "request_update", items).respond(format, StatusCode::OK))
}
