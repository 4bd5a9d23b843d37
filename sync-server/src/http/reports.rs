//! Public report routes: submit and preview a submission, read one (with timeline and photos),
//! follow one, dispute a closure, and the map query as GeoJSON.

use super::extract::{Json, JsonWithPhotos, Query};
use crate::auth::{CurrentUser, MaybeUser};
use crate::error::{ApiError, ApiResult};
use crate::reports::actions::{ActionRequest, act, scope_of};
use crate::reports::{follow, submit, views};
use crate::state::AppState;
use crate::storage::ReportQuery;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use smartmap_shared::calendar::tbilisi_offset;
use smartmap_shared::geo::{BBox, TBILISI_BBOX};
use smartmap_shared::ids::{CategoryId, ReportId};
use smartmap_shared::report::{Action, ReportStatus};

/// The public report routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/reports", post(submit_report))
        .route("/api/reports/{id}", get(report_detail))
        .route("/api/reports/{id}/dispute", post(dispute))
        .route("/api/reports/{id}/follow", post(follow_report).delete(unfollow_report))
        .route("/api/preview", get(preview))
        .route("/api/map/reports", get(map_reports))
}

async fn submit_report(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    form: JsonWithPhotos,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    let json = form.json.ok_or_else(|| ApiError::field("report", "required", "the JSON part 'report' is missing"))?;
    let done = submit::submit_report(&state, &user, &json, form.photos).await?;
    let (photos, events) = match done.stored {
        Some(stored) => stored,
        None => {
            (state.storage.report_photos(done.report.id).await?, state.storage.report_events(done.report.id).await?)
        }
    };
    let body = views::public_detail(&done.report, &photos, &events, &state.reference());
    let status = if done.replayed { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, axum::Json(body)))
}

/// Parses a report id from the path; a malformed id is a 404 like any unknown one.
pub fn report_id(raw: &str) -> ApiResult<ReportId> {
    uuid::Uuid::parse_str(raw).map(ReportId).map_err(|_| ApiError::NotFound("report"))
}

async fn report_detail(
    State(state): State<AppState>,
    MaybeUser(viewer): MaybeUser,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let id = report_id(&id)?;
    let report = state.storage.report(id).await?.ok_or(ApiError::NotFound("report"))?;
    let staff_view = viewer.as_ref().is_some_and(|v| {
        let scope = scope_of(v);
        matches!(v.role, smartmap_shared::role::Role::Moderator)
            || scope.may_work_on(&report.district, report.body.as_ref())
    });
    if report.hidden && !staff_view {
        return Err(ApiError::NotFound("report"));
    }
    let photos = state.storage.report_photos(id).await?;
    let events = state.storage.report_events(id).await?;
    let mut body = if staff_view {
        views::staff_detail(&state, &report, &photos, &events).await?
    } else {
        views::public_detail(&report, &photos, &events, &state.reference())
    };
    let expected: Vec<_> = state.storage.expected_photos_of_reports(&[id]).await?.into_iter().map(|(_, e)| e).collect();
    body = views::with_pending(body, &expected);
    if let Some(viewer) = &viewer {
        if viewer.id == report.reporter {
            body["mine"] = json!(true);
        }
        body["following"] = json!(follow::is_following(&state, viewer, id).await?);
    }
    Ok(axum::Json(body))
}

/// `POST /api/reports/{id}/follow`: the caller follows the report (idempotent).
async fn follow_report(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let id = report_id(&id)?;
    follow::set_following(&state, &user, id, true).await?;
    Ok(axum::Json(json!({ "report_id": id, "following": true })))
}

/// `DELETE /api/reports/{id}/follow`: the caller stops following the report (idempotent).
async fn unfollow_report(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let id = report_id(&id)?;
    follow::set_following(&state, &user, id, false).await?;
    Ok(axum::Json(json!({ "report_id": id, "following": false })))
}

/// Where a report would go and when it would be due.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewParams {
    /// Category slug.
    pub category: String,
    /// Latitude, degrees north.
    pub lat: f64,
    /// Longitude, degrees east.
    pub lon: f64,
}

/// `GET /api/preview`: district, body and deadline of a report not sent yet, by the code
/// submission uses; the same errors as a submission for the category and the location.
async fn preview(
    State(state): State<AppState>,
    Query(p): Query<PreviewParams>,
) -> ApiResult<axum::Json<smartmap_shared::preview::Preview>> {
    let reference = state.reference();
    Ok(axum::Json(crate::reports::preview::preview(&reference, &p.category, p.lat, p.lon, state.clock.now())?))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
/// A reporter disputing a closure.
pub struct Dispute {
    /// Why the reporter disagrees (public).
    reason: String,
}

async fn dispute(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    Json(d): Json<Dispute>,
) -> ApiResult<axum::Json<Value>> {
    let id = report_id(&id)?;
    let request = ActionRequest {
        action: Action::Dispute { reason: d.reason },
        public_note: None,
        internal_note: None,
        template: None,
    };
    let report = act(&state, &user, id, request, Vec::new()).await?;
    Ok(axum::Json(views::public_summary(&report, &state.reference())))
}

/// Map query parameters.
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MapParams {
    /// `west,south,east,north`; default: all of Tbilisi.
    pub bbox: Option<String>,
    /// Comma-separated category slugs.
    pub category: Option<String>,
    /// Comma-separated statuses.
    pub status: Option<String>,
    /// Received on or after (a date in Tbilisi time, or an RFC 3339 instant).
    pub from: Option<String>,
    /// Received before (a date means: up to the end of that day).
    pub to: Option<String>,
    /// Map zoom level (0–22); below the configured threshold the answer is clusters.
    pub zoom: Option<u8>,
    /// 1-based page of points.
    pub page: Option<u32>,
    /// Points per page, 1–1000 (default 500).
    pub page_size: Option<u32>,
}

fn split_list(raw: &Option<String>) -> impl Iterator<Item = &str> {
    raw.as_deref().unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// Parses `from`/`to`: a date (Tbilisi midnight; `to` takes the next midnight) or an instant.
pub fn parse_time(field: &'static str, raw: &str, end_of_day: bool) -> ApiResult<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(t.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| ApiError::field(field, "invalid_date", "use YYYY-MM-DD or an RFC 3339 time"))?;
    let date = if end_of_day { date.succ_opt().unwrap_or(date) } else { date };
    let local = date.and_hms_opt(0, 0, 0).expect("midnight exists").and_local_timezone(tbilisi_offset());
    Ok(local.single().expect("fixed offsets are unambiguous").with_timezone(&Utc))
}

/// Turns map parameters into a storage query (public: hidden reports left out).
pub fn map_query(p: &MapParams, state: &AppState) -> ApiResult<ReportQuery> {
    let reference = state.reference();
    let bbox = match &p.bbox {
        Some(raw) => BBox::parse(raw).map_err(|e| ApiError::field("bbox", "invalid_bbox", e.to_string()))?,
        None => TBILISI_BBOX,
    };
    let mut q = ReportQuery { bbox: Some(bbox), public_only: true, ..ReportQuery::default() };
    for c in split_list(&p.category) {
        let id = CategoryId::parse(c).ok().filter(|id| reference.category(id).is_some());
        q.categories.push(
            id.ok_or_else(|| ApiError::field("category", "unknown_category", format!("there is no category '{c}'")))?,
        );
    }
    for s in split_list(&p.status) {
        let status = ReportStatus::parse(s)
            .ok_or_else(|| ApiError::field("status", "unknown_status", format!("there is no status '{s}'")))?;
        q.statuses.push(status);
    }
    q.from = p.from.as_deref().map(|f| parse_time("from", f, false)).transpose()?;
    q.to = p.to.as_deref().map(|t| parse_time("to", t, true)).transpose()?;
    if let (Some(from), Some(to)) = (q.from, q.to)
        && from >= to
    {
        return Err(ApiError::field("to", "empty_range", "'to' must be after 'from'"));
    }
    let page_size = p.page_size.unwrap_or(500);
    if !(1..=1000).contains(&page_size) {
        return Err(ApiError::field("page_size", "out_of_range", "1 to 1000"));
    }
    let page = p.page.unwrap_or(1);
    if page == 0 {
        return Err(ApiError::field("page", "out_of_range", "pages start at 1"));
    }
    q.limit = page_size + 1; // one more tells whether there is a next page
    q.offset = u64::from(page - 1) * u64::from(page_size);
    Ok(q)
}

/// Grid cell size for clustering at `zoom`: about 60 screen pixels.
fn cluster_cell_degrees(zoom: u8) -> f64 {
    360.0 / 2f64.powi(i32::from(zoom)) / 256.0 * 60.0
}

async fn map_reports(State(state): State<AppState>, Query(p): Query<MapParams>) -> ApiResult<axum::Json<Value>> {
    let mut q = map_query(&p, &state)?;
    let zoom = p.zoom.unwrap_or(state.settings.cluster_below_zoom);
    if zoom > 22 {
        return Err(ApiError::field("zoom", "out_of_range", "0 to 22"));
    }
    if zoom < state.settings.cluster_below_zoom {
        let clusters = state.storage.cluster_reports(&q, cluster_cell_degrees(zoom)).await?;
        let features: Vec<Value> = clusters
            .iter()
            .map(|c| {
                json!({
                    "type": "Feature",
                    "geometry": { "type": "Point", "coordinates": [c.lon, c.lat] },
                    "properties": { "cluster": true, "count": c.count },
                })
            })
            .collect();
        return Ok(axum::Json(
            json!({ "type": "FeatureCollection", "clustered": true, "zoom": zoom, "features": features }),
        ));
    }
    let page_size = q.limit - 1;
    let mut reports = state.storage.query_reports(&q).await?;
    let has_more = reports.len() > page_size as usize;
    reports.truncate(page_size as usize);
    q.limit = page_size;
    let reference = state.reference();
    let features: Vec<Value> = reports.iter().map(|r| views::feature(r, &reference)).collect();
    let page = p.page.unwrap_or(1);
    Ok(axum::Json(json!({
        "type": "FeatureCollection",
        "clustered": false,
        "zoom": zoom,
        "page": page,
        "page_size": page_size,
        "next_page": if has_more { Some(page + 1) } else { None },
        "features": features,
    })))
}
