//! `/api/uploads`: resumable photo uploads, wire-compatible with tus 1.0 (core, creation,
//! checksum, expiration; termination too). The rules live in [`crate::uploads`]; this file reads
//! and writes the tus headers.
//!
//! Every response on these paths carries `Tus-Resumable: 1.0.0` ([`tus_response_headers`], which
//! wraps the role gate too), a 412 also `Tus-Version`. A request without `Tus-Resumable: 1.0.0`
//! (OPTIONS excepted) is refused with 412, after the gate: who may call comes first.

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::uploads::headers::{Checksum, parse_photo_metadata};
use crate::uploads::{self, UploadStatus};
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{head, post};
use chrono::{DateTime, Utc};
use smartmap_shared::sync::tus;

/// The tus headers a browser may read (CORS `Access-Control-Expose-Headers`).
pub const EXPOSED_HEADERS: [&str; 10] = [
    "location",
    "upload-offset",
    "upload-length",
    "upload-expires",
    "upload-metadata",
    "tus-resumable",
    "tus-version",
    "tus-extension",
    "tus-max-size",
    "tus-checksum-algorithm",
];

/// The uploads routes. PATCH bodies are capped at `max_photo_bytes` (an upload's whole size).
pub fn router(max_photo_bytes: usize) -> Router<AppState> {
    let limit = DefaultBodyLimit::max(max_photo_bytes);
    Router::new()
        .route("/api/uploads", post(create).options(capabilities))
        .route("/api/uploads/{id}", head(offset).patch(append).delete(terminate).layer(limit))
}

/// Adds `Tus-Resumable` to every answer under `/api/uploads` (and `Tus-Version` to a 412), and
/// `Cache-Control: no-store` to HEAD answers there.
pub async fn tus_response_headers(request: Request, next: Next) -> Response {
    let is_upload = request.uri().path() == "/api/uploads" || request.uri().path().starts_with("/api/uploads/");
    let is_head = request.method() == axum::http::Method::HEAD;
    let mut response = next.run(request).await;
    if is_upload {
        let headers = response.headers_mut();
        headers.insert(tus_header("tus-resumable"), HeaderValue::from_static(tus::VERSION));
        if response.status() == StatusCode::PRECONDITION_FAILED {
            response.headers_mut().insert(tus_header("tus-version"), HeaderValue::from_static(tus::VERSION));
        }
        if is_head {
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }
    response
}

fn tus_header(name: &'static str) -> HeaderName {
    HeaderName::from_static(name)
}

fn text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn require_tus_version(headers: &HeaderMap) -> ApiResult<()> {
    match text(headers, "tus-resumable") {
        Some(tus::VERSION) => Ok(()),
        Some(other) => Err(ApiError::PreconditionFailed(format!(
            "Tus-Resumable {other} is not supported; this server speaks {}",
            tus::VERSION
        ))),
        None => Err(ApiError::PreconditionFailed(format!("send Tus-Resumable: {}", tus::VERSION))),
    }
}

fn number(headers: &HeaderMap, name: &'static str) -> ApiResult<Option<u64>> {
    text(headers, name)
        .map(|v| {
            v.trim().parse::<u64>().map_err(|_| ApiError::header(name, "invalid_number", "a non-negative integer"))
        })
        .transpose()
}

/// An RFC 9110 IMF-fixdate, e.g. `Wed, 11 Mar 2026 05:00:00 GMT`.
fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).expect("header values built here are ASCII")
}

fn progress_headers(status: &UploadStatus) -> [(HeaderName, HeaderValue); 2] {
    [
        (tus_header("upload-offset"), value(&status.offset.to_string())),
        (tus_header("upload-expires"), value(&http_date(status.upload.expires_at))),
    ]
}

async fn capabilities(State(state): State<AppState>) -> Response {
    let headers = [
        (tus_header("tus-version"), HeaderValue::from_static(tus::VERSION)),
        (tus_header("tus-extension"), value(&format!("{},termination", tus::EXTENSIONS))),
        (tus_header("tus-max-size"), value(&state.settings.max_photo_bytes.to_string())),
        (tus_header("tus-checksum-algorithm"), HeaderValue::from_static(tus::CHECKSUM_ALGORITHMS)),
    ];
    (StatusCode::NO_CONTENT, headers).into_response()
}

async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
) -> ApiResult<Response> {
    require_tus_version(&headers)?;
    if headers.contains_key("upload-defer-length") {
        return Err(ApiError::header("Upload-Defer-Length", "unsupported", "send Upload-Length: the whole size"));
    }
    let length = number(&headers, "Upload-Length")?
        .ok_or_else(|| ApiError::header("Upload-Length", "required", "the upload's size in bytes is required"))?;
    let raw_metadata = text(&headers, "upload-metadata").unwrap_or("");
    let metadata = parse_photo_metadata(Some(raw_metadata))?;
    let status = uploads::create(&state, &user, length, metadata, raw_metadata).await?;
    let base = state.settings.public_url.as_deref().unwrap_or("").trim_end_matches('/');
    let location = format!("{base}/api/uploads/{}", status.upload.id);
    let [offset, expires] = progress_headers(&status);
    Ok((StatusCode::CREATED, [(header::LOCATION, value(&location)), offset, expires]).into_response())
}

async fn offset(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    require_tus_version(&headers)?;
    let status = uploads::status(&state, &user, &id).await?;
    let [offset, expires] = progress_headers(&status);
    let mut response =
        (StatusCode::OK, [offset, expires, (tus_header("upload-length"), value(&status.upload.length.to_string()))])
            .into_response();
    if !status.upload.raw_metadata.is_empty()
        && let Ok(metadata) = HeaderValue::from_str(&status.upload.raw_metadata)
    {
        response.headers_mut().insert(tus_header("upload-metadata"), metadata);
    }
    Ok(response)
}

async fn append(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    require_tus_version(&headers)?;
    let content_type = text(&headers, "content-type").unwrap_or("");
    if content_type.split(';').next().map(str::trim) != Some(tus::OFFSET_CONTENT_TYPE) {
        return Err(ApiError::UnsupportedMediaType(format!("send the chunk as {}", tus::OFFSET_CONTENT_TYPE)));
    }
    let offset =
        number(&headers, "Upload-Offset")?.ok_or_else(|| ApiError::header("Upload-Offset", "required", "required"))?;
    let checksum = text(&headers, "upload-checksum").map(Checksum::parse).transpose()?;
    let declared = number(&headers, "Content-Length")?;
    let stream = body.into_data_stream();
    let status = uploads::append(&state, &user, &id, offset, checksum, declared, stream).await?;
    Ok((StatusCode::NO_CONTENT, progress_headers(&status)).into_response())
}

async fn terminate(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    require_tus_version(&headers)?;
    uploads::terminate(&state, &user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn upload_expires_is_an_imf_fixdate() {
        let t = Utc.with_ymd_and_hms(2026, 3, 11, 5, 0, 0).unwrap();
        assert_eq!(http_date(t), "Wed, 11 Mar 2026 05:00:00 GMT");
    }
}
