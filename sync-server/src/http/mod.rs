//! The HTTP surface: one router per feature, merged here, with problem+json for everything that
//! goes wrong (including unknown routes and wrong methods).

pub mod accounts;
pub mod admin;
pub mod catalog;
pub mod extract;
pub mod openapi;
pub mod reference;
pub mod reports;
pub mod staff;

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use tower_http::trace::TraceLayer;

/// The whole application router.
pub fn router(state: AppState) -> Router {
    // Photos are checked one by one by the pipeline; this caps the whole request.
    let body_limit = state.settings.max_photos * state.settings.max_photo_bytes + 1024 * 1024;
    Router::new()
        .route("/", get(index))
        .route("/api/openapi.json", get(openapi::openapi_json))
        .merge(accounts::router())
        .merge(reports::router())
        .merge(staff::router())
        .merge(admin::router())
        .merge(reference::router())
        .fallback(|| async { ApiError::NotFound("route") })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// A minimal server-rendered front page until the UI arrives: what this is and where the API is.
async fn index() -> impl IntoResponse {
    Html(include_str!("index.html"))
}
