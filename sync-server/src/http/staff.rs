//! Staff and crew routes: the scoped queue (JSON and CSV), the dashboard, actions on reports,
//! templates, crews, and a crew's tickets with closing by proof photos.

use super::extract::{Json, JsonWithPhotos, Query};
use super::reports::report_id;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::reports::actions::{ActionForm, ActionRequest, CREW_STATUSES, act};
use crate::reports::export;
use crate::reports::queue::{self, QueueFilters};
use crate::reports::views;
use crate::state::AppState;
use crate::storage::{ReportQuery, UserRecord};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use smartmap_shared::ids::CategoryId;
use smartmap_shared::report::Action;
use smartmap_shared::role::Role;

/// The staff and crew routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/staff/queue", get(queue))
        .route("/api/staff/queue.csv", get(queue_csv))
        .route("/api/staff/dashboard", get(dashboard))
        .route("/api/staff/reports/{id}/actions", post(take_action))
        .route("/api/staff/templates", get(templates))
        .route("/api/staff/crews", get(crews))
        .route("/api/crew/tickets", get(tickets))
        .route("/api/crew/tickets/{id}/close", post(close_fixed))
}

fn require_staff(user: &UserRecord) -> ApiResult<()> {
    match user.role {
        Role::DistrictStaff | Role::DepartmentStaff | Role::Moderator | Role::Admin => Ok(()),
        _ => Err(ApiError::Forbidden("staff only".into())),
    }
}

#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
/// Staff queue filters.
pub struct QueueParams {
    /// `open` (default), `all`, or comma-separated statuses.
    status: Option<String>,
    /// A category slug.
    category: Option<String>,
    /// Only reports flagged overdue.
    overdue: Option<bool>,
    /// 1-based page.
    page: Option<u32>,
    /// Reports per page, 1–500 (default 50).
    page_size: Option<u32>,
}

/// The queue: open reports in the caller's scope, the nearest deadline first.
async fn queue(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(p): Query<QueueParams>,
) -> ApiResult<axum::Json<Value>> {
    let mut q = queue::scoped_query(&user)?;
    let filters = QueueFilters { status: p.status.as_deref(), category: p.category.as_deref(), overdue: p.overdue };
    filters.apply(&mut q)?;
    let page_size = p.page_size.unwrap_or(50).clamp(1, 500);
    let page = p.page.unwrap_or(1).max(1);
    q.limit = page_size;
    q.offset = u64::from(page - 1) * u64::from(page_size);
    let total = state.storage.count_reports(&q).await?;
    let reports = state.storage.query_reports(&q).await?;
    let crews = queue::crew_names(&state).await?;
    let reference = state.reference();
    let now = state.clock.now();
    let items: Vec<Value> = reports.iter().map(|r| queue::queue_item(r, &reference, &crews, now)).collect();
    Ok(axum::Json(json!({ "total": total, "page": page, "page_size": page_size, "items": items })))
}

#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
/// The queue's filters, for its CSV export (every matching report, up to 10 000, no pages).
pub struct QueueCsvParams {
    /// `open` (default), `all`, or comma-separated statuses.
    status: Option<String>,
    /// A category slug.
    category: Option<String>,
    /// Only reports flagged overdue.
    overdue: Option<bool>,
}

/// `GET /api/staff/queue.csv`: the queue as a spreadsheet, as an attachment.
async fn queue_csv(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(p): Query<QueueCsvParams>,
) -> ApiResult<Response> {
    let mut q = queue::scoped_query(&user)?;
    let filters = QueueFilters { status: p.status.as_deref(), category: p.category.as_deref(), overdue: p.overdue };
    filters.apply(&mut q)?;
    q.limit = export::MAX_ROWS;
    let reports = state.storage.query_reports(&q).await?;
    let crews = queue::crew_names(&state).await?;
    let csv = export::queue_csv(&reports, &state.reference(), &crews);
    let disposition = format!("attachment; filename=\"{}\"", export::file_name(state.clock.now()));
    let mut response = csv.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).map_err(|e| ApiError::Internal(e.into()))?,
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
/// The dashboard's window over reports' creation time.
pub struct DashboardParams {
    /// Received at or after (RFC 3339, or a date in Tbilisi time).
    from: Option<String>,
    /// Received before (RFC 3339; a date means up to the end of that day).
    to: Option<String>,
}

/// The most reports one dashboard reads (the most recent first); beyond it `truncated` is set.
const DASHBOARD_MAX_REPORTS: u32 = 100_000;

/// `GET /api/staff/dashboard`: figures over the reports in the caller's scope.
async fn dashboard(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(p): Query<DashboardParams>,
) -> ApiResult<axum::Json<crate::stats::Dashboard>> {
    let mut q = queue::scoped_query(&user)?;
    q.from = p.from.as_deref().map(|f| super::reports::parse_time("from", f, false)).transpose()?;
    q.to = p.to.as_deref().map(|t| super::reports::parse_time("to", t, true)).transpose()?;
    if let (Some(from), Some(to)) = (q.from, q.to)
        && from >= to
    {
        return Err(ApiError::field("to", "empty_range", "'to' must be after 'from'"));
    }
    q.limit = DASHBOARD_MAX_REPORTS + 1;
    let mut reports = state.storage.query_reports(&q).await?;
    let truncated = reports.len() > DASHBOARD_MAX_REPORTS as usize;
    reports.truncate(DASHBOARD_MAX_REPORTS as usize);
    let reference = state.reference();
    Ok(axum::Json(crate::stats::dashboard(&reports, &reference.categories, state.clock.now(), truncated)))
}

async fn take_action(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    Json(form): Json<ActionForm>,
) -> ApiResult<axum::Json<Value>> {
    let id = report_id(&id)?;
    let request = ActionRequest::try_from(form)?;
    require_staff(&user)?;
    if matches!(request.action, Action::Dispute { .. } | Action::MarkFixed { .. } | Action::Route { .. }) {
        return Err(ApiError::field(
            "action",
            "not_a_staff_action",
            "disputes and fixed-closures have their own routes; routing is the system's",
        ));
    }
    let report = act(&state, &user, id, request, Vec::new()).await?;
    let photos = state.storage.report_photos(id).await?;
    let events = state.storage.report_events(id).await?;
    Ok(axum::Json(views::staff_detail(&state, &report, &photos, &events).await?))
}

#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
/// Template filter.
pub struct TemplateParams {
    /// Only templates of this category.
    category: Option<String>,
}

async fn templates(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(p): Query<TemplateParams>,
) -> ApiResult<axum::Json<Value>> {
    require_staff(&user)?;
    let category = p
        .category
        .filter(|c| !c.is_empty())
        .map(|c| {
            CategoryId::parse(c.clone())
                .map_err(|_| ApiError::field("category", "unknown_category", format!("there is no category '{c}'")))
        })
        .transpose()?;
    let templates = state.storage.templates(category.as_ref()).await?;
    Ok(axum::Json(json!({ "items": templates })))
}

async fn crews(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> ApiResult<axum::Json<Value>> {
    require_staff(&user)?;
    let body = if user.role == Role::DepartmentStaff { user.body.clone() } else { None };
    let crews = state.storage.crews(body.as_ref()).await?;
    let items: Vec<Value> =
        crews.iter().map(|c| json!({ "id": c.id, "display_name": c.display_name, "body": c.body })).collect();
    Ok(axum::Json(json!({ "items": items })))
}

async fn tickets(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> ApiResult<axum::Json<Value>> {
    if user.role != Role::FieldCrew {
        return Err(ApiError::Forbidden("field crews only".into()));
    }
    let q = ReportQuery {
        crew: Some(user.id),
        statuses: CREW_STATUSES.to_vec(),
        order_by_deadline: true,
        limit: 500,
        ..ReportQuery::default()
    };
    let reports = state.storage.query_reports(&q).await?;
    let reference = state.reference();
    let items: Vec<Value> = reports.iter().map(|r| views::public_summary(r, &reference)).collect();
    Ok(axum::Json(json!({ "items": items })))
}

#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
/// Notes a crew may send with a fixed-closure (the `action` JSON part).
pub struct CloseNotes {
    /// A note the public sees.
    public_note: Option<String>,
    /// A note only staff see.
    internal_note: Option<String>,
}

/// Closes a ticket as fixed: a multipart form with an optional `action` JSON part (notes) and
/// one or more `photo` parts.
async fn close_fixed(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    form: JsonWithPhotos,
) -> ApiResult<axum::Json<Value>> {
    let id = report_id(&id)?;
    let notes: CloseNotes = match &form.json {
        Some(raw) if !raw.is_empty() => super::extract::parse_json("the notes", raw)?,
        _ => CloseNotes::default(),
    };
    let request = ActionRequest {
        action: Action::MarkFixed { proof_photos: 0 },
        public_note: notes.public_note,
        internal_note: notes.internal_note,
        template: None,
    };
    let report = act(&state, &user, id, request, form.photos).await?;
    Ok(axum::Json(views::public_summary(&report, &state.reference())))
}
