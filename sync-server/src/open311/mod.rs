//! Open311 GeoReport v2 under `/open311/v2/`, in XML and JSON, so existing civic apps, dashboards
//! and researchers can read and post Fix-Tbilisi reports without custom code.
//!
//! This module is a door, not a feature: a service is a category, a service request is a report,
//! and a POST goes through the same submission pipeline as the phone app's
//! ([`crate::reports::submit::submit_report`]). Nothing here is known to the domain.
//!
//! # Layout
//! - [`document`]: one [`document::Node`] tree per answer, written as XML or JSON by the same
//!   rules, so the formats cannot drift apart.
//! - [`errors`]: the spec's own error answers (404, 403, 400), never problem+json.
//! - [`params`]: parameters (empty means absent), format suffixes, the jurisdiction, W3C
//!   date-times, the 90-day window and paging.
//! - [`services`]: categories as services, with their questions (attributes) as data.
//! - [`describe`]: discovery, the service list, service definitions.
//! - [`requests`]: reports as service requests (the field mapping), listing, one, tokens.
//! - [`submit`]: POST a service request.
//! - [`updates`]: mySociety's `servicerequestupdates` feed with extended statuses.
//! - [`keys`]: the admin routes that issue API keys to apps.
//!
//! Unknown *paths* get the server's ordinary problem+json 404 and wrong methods its 405; every
//! answer of a route below, errors included, is Open311.

pub mod describe;
pub mod document;
pub mod errors;
pub mod keys;
pub mod params;
pub mod requests;
pub mod services;
pub mod submit;
pub mod updates;

use crate::state::AppState;
use axum::Router;
use axum::routing::get;

/// The Open311 routes and the admin routes of its API keys (all catalogued in
/// `http::catalog::ROUTES`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/open311/v2/discovery.{format}", get(describe::discovery))
        .route("/open311/v2/services.{format}", get(describe::service_list))
        .route("/open311/v2/services/{service_code}", get(describe::service_definition))
        .route("/open311/v2/requests.{format}", get(requests::list).post(submit::post_request))
        .route("/open311/v2/requests/{service_request_id}", get(requests::one))
        .route("/open311/v2/tokens/{token}", get(requests::token))
        .route("/open311/v2/servicerequestupdates.{format}", get(updates::feed))
        .route("/api/admin/open311/keys", get(keys::list).post(keys::issue))
}
