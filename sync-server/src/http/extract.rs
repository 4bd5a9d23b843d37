//! Request extractors whose rejections are problem+json: bad JSON names the field serde
//! complained about, bad query strings likewise, and multipart forms are read into a JSON part
//! and photo parts with size limits.

use crate::error::ApiError;
use axum::extract::multipart::MultipartError;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;

/// Parses a JSON document into `T`. Syntax errors are 400; a document that is JSON but not the
/// expected shape (unknown, missing or mistyped fields) is 422 naming the field's path.
pub fn parse_json<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = serde_path_to_error::deserialize::<_, T>(&mut de);
    // Trailing garbage after the document is a syntax error too.
    if parsed.is_ok()
        && let Err(e) = de.end()
    {
        return Err(ApiError::Malformed(format!("{what} is not valid JSON: {e}")));
    }
    match parsed {
        Ok(v) => Ok(v),
        Err(e) => {
            let inner = e.inner();
            if inner.is_data() {
                let path = e.path().to_string();
                let field = match inner.to_string() {
                    // A missing field's path is its parent's; serde names the key in the message.
                    m if m.starts_with("missing field `") => {
                        let key = m.split('`').nth(1).unwrap_or("");
                        if path == "." { key.to_owned() } else { format!("{path}.{key}") }
                    }
                    _ => path,
                };
                let message = strip_position(&inner.to_string());
                Err(ApiError::field(if field == "." { "body".into() } else { field }, "invalid_value", message))
            } else {
                Err(ApiError::Malformed(format!("{what} is not valid JSON: {inner}")))
            }
        }
    }
}

/// serde_json appends " at line L column C"; the field path says more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

fn body_rejection(e: axum::extract::rejection::BytesRejection) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge { field: "body".into(), message: "the request body is too large".into() }
    } else {
        ApiError::Malformed(e.body_text())
    }
}

/// `axum::Json` with problem+json rejections (see [`parse_json`]).
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json") || ct.contains("+json"));
        if !is_json {
            return Err(ApiError::Malformed("send the body as application/json".into()));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(body_rejection)?;
        parse_json("the body", &bytes).map(Json)
    }
}

/// `axum::extract::Query` with problem+json rejections naming the parameter.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de).map(Query).map_err(|e| {
            let message = e.inner().to_string();
            let field = match message.split('`').nth(1) {
                Some(key) if message.starts_with("unknown field") || message.starts_with("missing field") => {
                    key.to_owned()
                }
                _ => e.path().to_string(),
            };
            ApiError::field(field, "invalid_value", message)
        })
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
            let json = Bytes::from_request(req, state).await.map_err(body_rejection)?;
            return Ok(JsonWithPhotos { json: Some(json), photos: Vec::new() });
        }
        if !content_type.starts_with("multipart/form-data") {
            return Err(ApiError::Malformed(
                "send multipart/form-data (a JSON part plus photo parts) or application/json".into(),
            ));
        }
        let mut form = Multipart::from_request(req, state).await.map_err(|e| ApiError::Malformed(e.body_text()))?;
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
