//! Reference data and public figures: categories, bodies, districts (GeoJSON), deadline rules,
//! statistics, photos, health.

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::media::Rendition;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use smartmap_shared::role::Role;

/// The reference routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/health", get(health))
        .route("/api/categories", get(categories))
        .route("/api/bodies", get(bodies))
        .route("/api/districts", get(districts))
        .route("/api/sla", get(sla_rules))
        .route("/api/stats", get(stats))
        .route("/api/admin/outbox", get(outbox))
        .route("/media/{file}", get(media))
}

async fn health(State(state): State<AppState>) -> ApiResult<axum::Json<Value>> {
    state.storage.categories().await?;
    Ok(axum::Json(json!({ "status": "ok" })))
}

async fn categories(State(state): State<AppState>) -> axum::Json<Value> {
    axum::Json(json!({ "items": state.reference().categories }))
}

async fn bodies(State(state): State<AppState>) -> axum::Json<Value> {
    axum::Json(json!({ "items": state.reference().bodies }))
}

async fn districts(State(state): State<AppState>) -> axum::Json<Value> {
    let reference = state.reference();
    let features: Vec<Value> = reference
        .districts
        .districts()
        .iter()
        .map(|d| {
            json!({
                "type": "Feature",
                "id": d.id,
                "properties": { "slug": d.id, "name_ka": d.name.ka, "name_en": d.name.en },
                "geometry": d.area.to_geojson(),
            })
        })
        .collect();
    axum::Json(json!({ "type": "FeatureCollection", "features": features }))
}

/// Every deadline rule, public: each category's default and every per-body override of it.
async fn sla_rules(State(state): State<AppState>) -> axum::Json<Value> {
    let reference = state.reference();
    let defaults: Vec<Value> = reference.categories.iter().map(|c| json!({ "category": c.id, "sla": c.sla })).collect();
    axum::Json(json!({ "defaults": defaults, "overrides": reference.sla_overrides }))
}

async fn stats(State(state): State<AppState>) -> ApiResult<axum::Json<Value>> {
    let rows = state.storage.stats_rows().await?;
    let items = crate::stats::compute(&rows, state.clock.now());
    Ok(axum::Json(json!({ "items": items })))
}

async fn outbox(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> ApiResult<axum::Json<Value>> {
    if user.role != Role::Admin {
        return Err(ApiError::Forbidden("admins only".into()));
    }
    let items: Vec<Value> = state
        .storage
        .pending_notifications()
        .await?
        .into_iter()
        .map(|n| json!({ "kind": n.kind, "recipient": n.recipient, "subject": n.subject, "body": n.body, "report": n.report, "created_at": n.created_at }))
        .collect();
    Ok(axum::Json(json!({ "items": items })))
}

/// `/media/<sha256>.jpg` or `/media/<sha256>.thumb.jpg`. Content-addressed, so cacheable forever.
async fn media(State(state): State<AppState>, Path(file): Path<String>) -> ApiResult<Response> {
    let (sha, rendition) = if let Some(sha) = file.strip_suffix(".thumb.jpg") {
        (sha, Rendition::Thumb)
    } else if let Some(sha) = file.strip_suffix(".jpg") {
        (sha, Rendition::Full)
    } else {
        return Err(ApiError::NotFound("photo"));
    };
    let bytes = state
        .blobs
        .get(sha, rendition)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .ok_or(ApiError::NotFound("photo"))?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{sha}\"")) {
        headers.insert(header::ETAG, etag);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Ok(response)
}
