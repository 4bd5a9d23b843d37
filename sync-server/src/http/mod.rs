//! The HTTP surface: one router per feature, merged here, with problem+json for everything that
//! goes wrong (including unknown routes and wrong methods), and the built web UI ([`ui`]) at `/`.

pub mod accounts;
pub mod admin;
pub mod catalog;
pub mod extract;
pub mod openapi;
pub mod reference;
pub mod reports;
pub mod staff;
pub mod sync;
pub mod ui;
pub mod uploads;

use crate::error::ApiError;
use crate::state::AppState;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::IntoResponse;
use axum::response::Response;
use axum::routing::get;
use tower_http::trace::TraceLayer;

/// The whole application router.
pub fn router(state: AppState) -> Router {
    // Photos are checked one by one by the pipeline; this caps the whole request.
    let body_limit = state.settings.max_photos * state.settings.max_photo_bytes + 1024 * 1024;
    Router::new()
        .route("/", get(ui::index))
        .route("/api/openapi.json", get(openapi::openapi_json))
        .merge(accounts::router())
        .merge(reports::router())
        .merge(staff::router())
        .merge(admin::router())
        .merge(reference::router())
        .merge(sync::router())
        .merge(crate::open311::router())
        .merge(uploads::router(state.settings.max_photo_bytes))
        // Who may call what is decided here, from the catalogue, before any body is read.
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), gate))
        // Unknown paths: a file of the built UI, else the JSON 404.
        .fallback(ui::fallback)
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(body_limit))
        // Outside the gate, so its refusals on upload routes carry `Tus-Resumable` too.
        .layer(axum::middleware::from_fn(uploads::tus_response_headers))
        .layer(axum::middleware::from_fn(cors))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The role gate: looks the matched route up in the catalogue, resolves the session, and refuses
/// anonymous callers (401) and roles the route does not admit (403). The account is left in the
/// request's extensions for the handler's `CurrentUser`. Scope (district, body, assignment,
/// ownership) is the handler's business.
async fn gate(
    State(state): State<AppState>,
    matched: MatchedPath,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let method = request.method().as_str();
    // HEAD is catalogued where it is a route of its own (tus); elsewhere it is GET's.
    let find = |method: &str| catalog::ROUTES.iter().find(|r| r.path == matched.as_str() && r.method == method);
    let doc = find(method).or_else(|| if method == "HEAD" { find("GET") } else { None });
    let doc = doc.ok_or_else(|| {
        ApiError::Internal(anyhow::anyhow!("{method} {} is not in the route catalogue", matched.as_str()))
    })?;
    if doc.access == catalog::Access::Public {
        return Ok(next.run(request).await);
    }
    let user = crate::auth::session_user(&state, request.headers()).await?.ok_or(ApiError::Unauthenticated)?;
    if !doc.access.admits(user.role) {
        return Err(ApiError::Forbidden(format!("a {} may not call {method} {}", user.role.as_str(), doc.path)));
    }
    request.extensions_mut().insert(user);
    Ok(next.run(request).await)
}

/// CORS for browsers: any origin may call the API with a bearer token (no cookies are used),
/// and scripts may read the tus headers resumable uploads answer with. Written out rather than
/// `tower_http`'s layer because that one takes every OPTIONS request for a preflight, and a tus
/// capabilities request (OPTIONS without `Access-Control-Request-Method`) must reach its handler.
async fn cors(request: Request, next: Next) -> Response {
    use axum::http::{HeaderValue, Method, StatusCode, header};
    if !request.headers().contains_key(header::ORIGIN) {
        return next.run(request).await;
    }
    let any = HeaderValue::from_static("*");
    if request.method() == Method::OPTIONS && request.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD) {
        let allow_headers = request.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS).cloned();
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, any);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"),
        );
        if let Some(allow_headers) = allow_headers {
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allow_headers);
        }
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("3600"));
        return response;
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, any);
    let exposed = uploads::EXPOSED_HEADERS.join(", ");
    headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_str(&exposed).expect("ASCII names"));
    response
}
