//! Errors the Open311 way: `<errors><error><code/><description/></error></errors>` in XML, an
//! array of `{code, description}` in JSON, in the format the client asked for, with the spec's
//! three statuses — 404 for what does not exist, 403 for a missing or wrong `api_key`, 400 for
//! anything else (the spec's "general service error", which includes our own failures: those are
//! logged in full and described as nothing more than an internal error). Never problem+json.
//!
//! Each error's `code` is its HTTP status, as the spec's examples have it; the `description`
//! names the parameter at fault first (`lat: …`), so one error per field reads on its own.

use super::document::{Document, Format, Node};
use crate::error::ApiError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An Open311 error answer: a status and one or more descriptions.
#[derive(Debug)]
pub struct Open311Error {
    status: StatusCode,
    format: Format,
    descriptions: Vec<String>,
}

/// Open311 handler result.
pub type Open311Result<T> = Result<T, Open311Error>;

impl Open311Error {
    /// 404: the resource (service, request, token, jurisdiction, format) does not exist.
    pub fn not_found(format: Format, description: impl Into<String>) -> Open311Error {
        Open311Error { status: StatusCode::NOT_FOUND, format, descriptions: vec![description.into()] }
    }

    /// 403: the `api_key` is missing or not one we issued.
    pub fn forbidden(format: Format, description: impl Into<String>) -> Open311Error {
        Open311Error { status: StatusCode::FORBIDDEN, format, descriptions: vec![description.into()] }
    }

    /// 400: the request cannot be fulfilled as sent.
    pub fn bad_request(format: Format, description: impl Into<String>) -> Open311Error {
        Open311Error::invalid(format, vec![description.into()])
    }

    /// 400 with one description per problem.
    pub fn invalid(format: Format, descriptions: Vec<String>) -> Open311Error {
        Open311Error { status: StatusCode::BAD_REQUEST, format, descriptions }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// An error of the rest of the server, said the Open311 way. Field errors (from the shared
    /// submission pipeline) become one error each, their fields renamed to the Open311
    /// parameters that carried them.
    pub fn from_api(format: Format, e: ApiError) -> Open311Error {
        match e {
            ApiError::Invalid(errors) => Open311Error::invalid(
                format,
                errors.into_iter().map(|f| format!("{}: {}", parameter_of(&f.field), f.message)).collect(),
            ),
            ApiError::TooLarge { field, message } => {
                Open311Error::bad_request(format, format!("{}: {message}", parameter_of(&field)))
            }
            ApiError::NotFound(what) => Open311Error::not_found(format, format!("{what} not found")),
            ApiError::Unauthenticated | ApiError::Forbidden(_) => Open311Error::forbidden(format, e.to_string()),
            ApiError::Internal(e) => {
                tracing::error!(error = ?e, "internal error on an Open311 route");
                Open311Error::bad_request(format, "internal error; please try again later or tell us")
            }
            other => Open311Error::bad_request(format, other.to_string()),
        }
    }

    fn document(&self) -> Document {
        let code = i64::from(self.status.as_u16());
        let items = self
            .descriptions
            .iter()
            .map(|d| Node::Record(vec![("code", Node::Int(code)), ("description", Node::text(d.clone()))]))
            .collect();
        Document::list("errors", "error", items)
    }
}

/// The Open311 parameter that carried a field of the submission pipeline.
fn parameter_of(field: &str) -> String {
    match field {
        "category" => "service_code".into(),
        "location" => "lat/long".into(),
        "address" => "address_string".into(),
        "photos" => "media".into(),
        other => match other.strip_prefix("photos[") {
            Some(rest) => format!("media[{rest}"),
            None => other.to_owned(),
        },
    }
}

impl IntoResponse for Open311Error {
    fn into_response(self) -> Response {
        self.document().respond(self.format, self.status)
    }
}

/// `?` for results of the rest of the server inside an Open311 handler.
pub trait InFormat<T> {
    /// Turns the error into an Open311 error in `format`.
    fn in_format(self, format: Format) -> Open311Result<T>;
}

impl<T, E: Into<ApiError>> InFormat<T> for Result<T, E> {
    fn in_format(self, format: Format) -> Open311Result<T> {
        self.map_err(|e| Open311Error::from_api(format, e.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FieldError;

    #[test]
    fn field_errors_become_one_error_each_named_by_open311_parameter() {
        let e = ApiError::Invalid(vec![
            FieldError { field: "category".into(), code: "unknown_category", message: "no such".into() },
            FieldError { field: "photos[1]".into(), code: "not_an_image", message: "not an image".into() },
        ]);
        let e = Open311Error::from_api(Format::Json, e);
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            e.document().to_json(),
            serde_json::json!([
                { "code": 400, "description": "service_code: no such" },
                { "code": 400, "description": "media[1]: not an image" },
            ])
        );
    }

    #[test]
    fn internal_errors_say_nothing_of_their_cause() {
        let e = Open311Error::from_api(Format::Xml, ApiError::Internal(anyhow::anyhow!("disk on fire")));
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        assert!(!e.document().to_xml().contains("fire"));
    }
}
