//! The HTTP error type. Every error leaves the server as RFC 9457 `application/problem+json` with
//! a stable machine `code`, a title in Georgian and English, and — for bad input — the fields at
//! fault. Internal errors are logged in full and shown as nothing more than "internal error".

use crate::storage::StorageError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One field at fault in a request.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldError {
    /// The field's path in the request, e.g. `location.lat`, `photos[1]`.
    pub field: String,
    /// A stable machine code, e.g. `outside_tbilisi`.
    pub code: &'static str,
    /// A human explanation (English).
    pub message: String,
}

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request could not be read (malformed JSON, broken multipart).
    #[error("{0}")]
    Malformed(String),
    /// 422: the request was read but some fields are not acceptable.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// 413: a part of the request is larger than allowed.
    #[error("{message}")]
    TooLarge {
        /// The field that is too large.
        field: String,
        /// What the limit is.
        message: String,
    },
    /// 401: no valid session.
    #[error("sign in first")]
    Unauthenticated,
    /// 403: signed in, but this role or scope may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such thing (or not visible to the caller).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 405: the route exists but not with this method.
    #[error("this route does not take that method")]
    MethodNotAllowed,
    /// 409: the state machine refuses the action (names the rule).
    #[error("{message}")]
    Conflict {
        /// A stable code for the rule broken.
        code: &'static str,
        /// The rule, in words.
        message: String,
    },
    /// 400: a request header is missing or not acceptable (tus uploads: `Upload-Length`,
    /// `Upload-Metadata` keys). Names the header or metadata key.
    #[error("invalid header")]
    BadHeader(Vec<FieldError>),
    /// 401: a device's refresh token is unknown, expired, spent, revoked or from another device.
    #[error("the refresh token is not valid; sign in again")]
    RefreshInvalid,
    /// 410: the thing existed but has expired (an unfinished upload past its expiry).
    #[error("this {0} has expired")]
    Gone(&'static str),
    /// 412: the client speaks a protocol version the server does not (tus `Tus-Resumable`).
    #[error("{0}")]
    PreconditionFailed(String),
    /// 415: the body is not of the content type the route takes.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 460 (tus checksum extension): the bytes do not match their announced checksum; they were
    /// discarded.
    #[error("{0}")]
    ChecksumMismatch(String),
    /// 410: a sync cursor from another epoch of the database, or beyond anything issued: take a
    /// snapshot and pull from its cursor.
    #[error("this cursor belongs to another history of the server's data; take a snapshot")]
    CursorExpired,
    /// 500: something broke inside; details are logged, not shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// A 400 naming one header (or metadata key) at fault.
    pub fn header(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::BadHeader(vec![FieldError { field: field.into(), code, message: message.into() }])
    }

    /// A 422 naming one field.
    pub fn field(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::Invalid(vec![FieldError { field: field.into(), code, message: message.into() }])
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::Malformed(_) => StatusCode::BAD_REQUEST,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::BadHeader(_) => StatusCode::BAD_REQUEST,
            ApiError::RefreshInvalid => StatusCode::UNAUTHORIZED,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::ChecksumMismatch(_) => {
                StatusCode::from_u16(smartmap_shared::sync::tus::CHECKSUM_MISMATCH).expect("460 is a valid status code")
            }
            ApiError::CursorExpired => StatusCode::GONE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine code of the problem type.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Malformed(_) => "malformed_request",
            ApiError::Invalid(_) => "invalid_input",
            ApiError::TooLarge { .. } => "too_large",
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Conflict { code, .. } => code,
            ApiError::BadHeader(_) => "invalid_header",
            ApiError::RefreshInvalid => "refresh_invalid",
            ApiError::Gone(_) => "expired",
            ApiError::PreconditionFailed(_) => "unsupported_version",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::ChecksumMismatch(_) => "checksum_mismatch",
            ApiError::CursorExpired => "cursor_expired",
            ApiError::Internal(_) => "internal_error",
        }
    }

    /// The problem's title as (Georgian, English).
    fn titles(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::Malformed(_) => ("მოთხოვნა ვერ წავიკითხეთ", "The request could not be read"),
            ApiError::Invalid(_) => ("მონაცემები არასწორია", "Some fields are not valid"),
            ApiError::TooLarge { .. } => ("ფაილი ან ტექსტი ძალიან დიდია", "Too large"),
            ApiError::Unauthenticated => ("გთხოვთ, შეხვიდეთ სისტემაში", "Please sign in"),
            ApiError::Forbidden(_) => ("ამის უფლება არ გაქვთ", "You may not do this"),
            ApiError::NotFound(_) => ("ვერ მოიძებნა", "Not found"),
            ApiError::MethodNotAllowed => ("ეს მეთოდი აქ არ გამოიყენება", "Method not allowed"),
            ApiError::Conflict { .. } => ("ეს მოქმედება ახლა დაუშვებელია", "This action is not allowed now"),
            ApiError::BadHeader(_) => ("მოთხოვნის სათაური არასწორია", "A request header is not valid"),
            ApiError::RefreshInvalid => ("სესია დასრულდა, გთხოვთ, თავიდან შეხვიდეთ", "Please sign in again"),
            ApiError::Gone(_) => ("ვადა გასულია", "Expired"),
            ApiError::PreconditionFailed(_) => {
                ("პროტოკოლის ვერსია არ არის მხარდაჭერილი", "Unsupported protocol version")
            }
            ApiError::UnsupportedMediaType(_) => ("შინაარსის ტიპი არ არის მხარდაჭერილი", "Unsupported content type"),
            ApiError::ChecksumMismatch(_) => ("საკონტროლო ჯამი არ ემთხვევა", "Checksum mismatch"),
            ApiError::CursorExpired => ("სინქრონიზაცია თავიდან უნდა დაიწყოს", "Sync must start over"),
            ApiError::Internal(_) => ("სერვერის შეცდომა", "Internal error"),
        }
    }
}

#[derive(Serialize)]
struct Problem<'a> {
    r#type: String,
    title: &'static str,
    title_ka: &'static str,
    status: u16,
    detail: String,
    code: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<FieldError>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (title_ka, title) = self.titles();
        let (detail, errors) = match &self {
            ApiError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                ("internal error".to_owned(), Vec::new())
            }
            ApiError::Invalid(errors) | ApiError::BadHeader(errors) => {
                let detail =
                    errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ");
                (detail, errors.clone())
            }
            ApiError::TooLarge { field, message } => (
                message.clone(),
                vec![FieldError { field: field.clone(), code: "too_large", message: message.clone() }],
            ),
            other => (other.to_string(), Vec::new()),
        };
        let code = self.code();
        let body = Problem {
            r#type: format!("https://smartmap.tbilisi.gov.ge/problems/{code}"),
            title,
            title_ka,
            status: status.as_u16(),
            detail,
            code,
            errors,
        };
        let mut response = (status, axum::Json(body)).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        response
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Conflict { field } => {
                ApiError::field(field, "taken", format!("this {field} is already taken"))
            }
            StorageError::Stale => ApiError::Conflict {
                code: "changed_meanwhile",
                message: "the report changed meanwhile; reload it and try again".into(),
            },
            other => ApiError::Internal(other.into()),
        }
    }
}

impl From<smartmap_shared::report::TransitionError> for ApiError {
    fn from(e: smartmap_shared::report::TransitionError) -> Self {
        use smartmap_shared::report::TransitionError as T;
        match &e {
            T::ProofPhotoRequired => ApiError::field("photos", "proof_photo_required", e.to_string()),
            T::ReasonRequired => ApiError::field("reason", "reason_required", e.to_string()),
            T::SameBody(_) => ApiError::field("to_body", "same_body", e.to_string()),
            T::SelfDuplicate => ApiError::field("original", "self_duplicate", e.to_string()),
            T::Illegal { .. } => ApiError::Conflict { code: "illegal_transition", message: e.to_string() },
            T::DisputeWindowClosed { .. } => {
                ApiError::Conflict { code: "dispute_window_closed", message: e.to_string() }
            }
        }
    }
}

/// Handler result.
pub type ApiResult<T> = Result<T, ApiError>;
