//! The sync routes of the phone app (`docs/sync.md`): push, pull, snapshot. Thin: parse, call
//! [`crate::sync`], answer.

use super::extract::{Json, Query};
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::sync::{feed, push};
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde::Deserialize;
use smartmap_shared::sync::{Cursor, PullPage, PushRequest, PushResponse, Snapshot};

/// The sync routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/sync/push", post(push_mutations))
        .route("/api/sync/pull", get(pull))
        .route("/api/sync/snapshot", get(snapshot))
}

async fn push_mutations(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Json(request): Json<PushRequest>,
) -> ApiResult<axum::Json<PushResponse>> {
    Ok(axum::Json(push::push(&state, &user, request).await?))
}

/// `GET /api/sync/pull` parameters.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PullParams {
    /// `<epoch>.<seq>` from the last page or snapshot; absent: from the beginning.
    pub cursor: Option<String>,
    /// Changes per page (at most 500).
    pub limit: Option<u32>,
}

async fn pull(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(params): Query<PullParams>,
) -> ApiResult<axum::Json<PullPage>> {
    let cursor = match params.cursor.filter(|c| !c.is_empty()) {
        Some(raw) => {
            Some(raw.parse::<Cursor>().map_err(|e| ApiError::field("cursor", "invalid_cursor", e.to_string()))?)
        }
        None => None,
    };
    Ok(axum::Json(feed::pull(&state, &user, cursor, params.limit).await?))
}

async fn snapshot(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> ApiResult<axum::Json<Snapshot>> {
    Ok(axum::Json(feed::snapshot(&state, &user).await?))
}
