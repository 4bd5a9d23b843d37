//! Request extractors whose rejections are problem+json: bad JSON names the field serde
//! complained about, bad query strings likewise, and multipart forms are read into a JSON part
//! and photo parts with size limits.

use crate::error::ApiError;
use axum::extract::multipart::MultipartError;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Multipart, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;

/// `axum::Json` with problem+json rejections.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError::field(
                serde_path(&e.body_text()),
                "invalid_value",
                e.body_text(),
            )),
            Err(JsonRejection::BytesRejection(e)) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::TooLarge { field: "body".into(), message: "the request body is too large".into() })
            }
            Err(e) => Err(ApiError::Malformed(e.body_text())),
        }
    }
}

/// `axum::extract::Query` with problem+json rejections.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                Err(ApiError::field(serde_path(&e.body_text()), "invalid_value", e.body_text()))
            }
            Err(e) => Err(ApiError::Malformed(e.body_text())),
        }
    }
}

/// Pulls the field path serde names in its message ("…: name: invalid type…" or "unknown field
/// `x`" or "missing field `x`"), so the problem says which field is wrong.
fn serde_path(message: &str) -> String {
    for marker in ["missing field `", "unknown field `"] {
        if let Some(rest) = message.split(marker).nth(1) {
            return rest.split('`').next().unwrap_or("body").to_owned();
        }
    }
    // axum prefixes "Failed to deserialize the JSON body into the target type: <path>: <msg>".
    let tail = message.rsplit_once("target type: ").map(|(_, t)| t).unwrap_or(message);
    let tail = tail.strip_prefix("Failed to deserialize query string: ").unwrap_or(tail);
    match tail.split_once(": ") {
        Some((path, _)) if !path.contains(' ') => path.to_owned(),
        _ => "body".to_owned(),
    }
}

/// A submission: a JSON document and any number of photos.
pub struct JsonWithPhotos {
    /// The JSON document's raw bytes (the `report`/`action` part, or the whole body for JSON
    /// requests), if one was sent.
    pub json: Option<Bytes>,
    /// Photo parts (`photo` or `photos`), in order.
    pub photos: Vec<Bytes>,
}

fn multipart_error(e: MultipartError) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge { field: "body".into(), message: "the upload is larger than allowed".into() }
    } else {
        ApiError::Malformed(format!("the multipart form could not be read: {}", e.body_text()))
    }
}

impl<S: Send + Sync> FromRequest<S> for JsonWithPhotos {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        if content_type.starts_with("application/json") {
            let json = Bytes::from_request(req, state).await.map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::TooLarge { field: "body".into(), message: "the request body is too large".into() }
                } else {
                    ApiError::Malformed(e.body_text())
                }
            })?;
            return Ok(JsonWithPhotos { json: Some(json), photos: Vec::new() });
        }
        if !content_type.starts_with("multipart/form-data") {
            return Err(ApiError::Malformed(
                "send multipart/form-data (a JSON part plus photo parts) or application/json".into(),
            ));
        }
        let mut form = Multipart::from_request(req, state)
            .await
            .map_err(|e| ApiError::Malformed(e.body_text()))?;
        let mut json = None;
        let mut photos = Vec::new();
        while let Some(field) = form.next_field().await.map_err(multipart_error)? {
            let name = field.name().unwrap_or("").to_owned();
            let bytes = field.bytes().await.map_err(multipart_error)?;
            match name.as_str() {
                "photo" | "photos" | "photos[]" => photos.push(bytes),
                "report" | "action" | "json" if json.is_none() => json = Some(bytes),
                other => {
                    return Err(ApiError::field(other, "unexpected_part", "expected a JSON part and photo parts"));
                }
            }
        }
        Ok(JsonWithPhotos { json, photos })
    }
}
