//! `POST /open311/v2/requests.{format}`: a service request becomes an ordinary report, through
//! the same [`submit_report`] pipeline as the phone app's (validation, district, routing,
//! deadline, photos), submitted by the account of the app whose `api_key` posted it.
//!
//! What Open311 sends and where it goes:
//! - `service_code` → the category; `lat`/`long` → the location (required: we cannot geocode
//!   an `address_string` or resolve an `address_id`, and say so); `address_string` → the address.
//! - `description`, then the answers to the service's questions (`attribute[CODE]`,
//!   `attribute[CODE][]`) as readable lines, then a `media_url` as a link → the description.
//!   The URL is never fetched: the server has no business downloading what a client points at
//!   (no internet on the office network, and a door to server-side request forgery), so it is
//!   kept as text a person may follow.
//! - photos: as `media` file parts of a `multipart/form-data` POST (the convention of
//!   SeeClickFix and others), through the photo pipeline like any upload.
//! - `email`, `first_name`, `last_name`, `phone`, `device_id`, `account_id` → kept privately
//!   with the request's token, never public.
//!
//! The answer is synchronous (`type` realtime): the `service_request_id`, and a token that
//! `GET tokens/{token}` resolves too.

use super::describe::segment;
use super::document::{Document, Format, Node};
use super::errors::{InFormat, Open311Error, Open311Result};
use super::params::{Params, check_jurisdiction, format_of};
use super::requests::service_notice;
use super::services::{answer_lines, answers, attributes_of};
use crate::auth::token_sha256;
use crate::reports::submit::submit_report_via;
use crate::state::AppState;
use crate::storage::{Open311KeyRecord, Open311SubmissionRecord};
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, Multipart, Path, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::Response;
use bytes::Bytes;
use rand::RngCore;
use serde_json::json;
use smartmap_shared::ids::{CategoryId, ReportId};

/// The longest contact detail accepted (e-mail, names, phone, device and account ids).
const MAX_CONTACT_CHARS: usize = 254;
/// The longest `media_url` accepted.
const MAX_URL_CHARS: usize = 2000;

/// A POST's parameters (form fields, then the query string's) and its `media` files.
async fn read_form(request: Request, query: Option<String>, format: Format) -> Open311Result<(Params, Vec<Bytes>)> {
    let content_type =
        request.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    let unreadable = |e: String| Open311Error::bad_request(format, format!("the request body could not be read: {e}"));
    let mut media = Vec::new();
    let mut params = if content_type.starts_with("application/x-www-form-urlencoded") {
        let body = Bytes::from_request(request, &()).await.map_err(|e| unreadable(e.body_text()))?;
        Params::parse(&body)
    } else if content_type.starts_with("multipart/form-data") {
        let mut form = Multipart::from_request(request, &()).await.map_err(|e| unreadable(e.body_text()))?;
        let mut params = Params::default();
        while let Some(field) = form.next_field().await.map_err(|e| unreadable(e.body_text()))? {
            let name = field.name().unwrap_or("").to_owned();
            let bytes = field.bytes().await.map_err(|e| unreadable(e.body_text()))?;
            if name == "media" || name == "media[]" {
                // An empty file input is an absent parameter, like any other empty one.
                if !bytes.is_empty() {
                    media.push(bytes);
                }
            } else {
                let text = String::from_utf8(bytes.to_vec())
                    .map_err(|_| Open311Error::bad_request(format, format!("{name}: not UTF-8 text")))?;
                params.push(name, text);
            }
        }
        params
    } else {
        return Err(Open311Error::bad_request(
            format,
            "send the request as application/x-www-form-urlencoded (or multipart/form-data with media files)",
        ));
    };
    params.extend(Params::parse(query.unwrap_or_default().as_bytes()));
    Ok((params, media))
}

/// The key that signs the request, or 403.
async fn authenticate(state: &AppState, params: &Params, format: Format) -> Open311Result<Open311KeyRecord> {
    let Some(key) = params.get("api_key") else {
        return Err(Open311Error::forbidden(
            format,
            "api_key is missing -- can't proceed with create_request; apps get keys from the Smart Map Tbilisi administrators",
        ));
    };
    state.storage.open311_key(&token_sha256(key)).await.in_format(format)?.ok_or_else(|| {
        Open311Error::forbidden(format, "Invalid api_key received -- can't proceed with create_request.")
    })
}

/// The coordinates, or what is wrong with them.
fn location(params: &Params, problems: &mut Vec<String>) -> Option<(f64, f64)> {
    let coordinate = |name: &str, problems: &mut Vec<String>| {
        let raw = params.get(name)?;
        match raw.parse::<f64>() {
            Ok(v) if v.is_finite() => Some(v),
            _ => {
                problems.push(format!("{name}: '{raw}' is not a number"));
                None
            }
        }
    };
    match (params.get("lat"), params.get("long")) {
        (None, None) if params.get("address_string").is_some() || params.get("address_id").is_some() => {
            problems.push(
                "lat/long: required — this endpoint cannot geocode an address_string or look up an address_id; \
                 send lat and long (WGS84), and address_string along with them to keep the address"
                    .into(),
            );
            None
        }
        (None, None) => {
            problems.push("lat/long: required — where is the problem? Send lat and long (WGS84)".into());
            None
        }
        (None, Some(_)) => {
            problems.push("lat: required together with long".into());
            None
        }
        (Some(_), None) => {
            problems.push("long: required together with lat".into());
            None
        }
        (Some(_), Some(_)) => {
            let lat = coordinate("lat", problems);
            let lon = coordinate("long", problems);
            lat.zip(lon)
        }
    }
}

/// A contact detail, or what is wrong with it.
fn contact(params: &Params, name: &str, problems: &mut Vec<String>) -> Option<String> {
    let value = params.get(name)?;
    if value.chars().count() > MAX_CONTACT_CHARS {
        problems.push(format!("{name}: at most {MAX_CONTACT_CHARS} characters"));
        return None;
    }
    if name == "email" && !value.contains('@') {
        problems.push(format!("{name}: '{value}' is not an e-mail address"));
        return None;
    }
    Some(value.to_owned())
}

/// A `media_url` to keep as text: an absolute http(s) URL on one line.
fn media_link(params: &Params, problems: &mut Vec<String>) -> Option<String> {
    let url = params.get("media_url")?;
    let scheme_ok =
        ["http://", "https://"].iter().any(|s| url.get(..s.len()).is_some_and(|p| p.eq_ignore_ascii_case(s)));
    if !scheme_ok || url.len() <= "https://".len() || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        problems.push(format!("media_url: '{url}' is not an http or https URL"));
        return None;
    }
    if url.chars().count() > MAX_URL_CHARS {
        problems.push(format!("media_url: at most {MAX_URL_CHARS} characters"));
        return None;
    }
    Some(url.to_owned())
}

/// A fresh token for `GET tokens/{token}`: 128 random bits, hex.
fn new_token() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// `POST /open311/v2/requests.{format}`.
#[tracing::instrument(skip_all, err(Debug))]
pub async fn post_request(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Open311Result<Response> {
    let format = format_of(&segment(path)?)?;
    let (params, media) = read_form(request, query, format).await?;
    check_jurisdiction(&params, format)?;
    let key = authenticate(&state, &params, format).await?;

    let reference = state.reference();
    let Some(code) = params.get("service_code") else {
        return Err(Open311Error::bad_request(format, "service_code: required (see GET services)"));
    };
    if CategoryId::parse(code).ok().and_then(|c| reference.category(&c).cloned()).is_none() {
        return Err(Open311Error::not_found(format, format!("service_code '{code}' was not found")));
    }

    let mut problems = Vec::new();
    let point = location(&params, &mut problems);
    let lines = answer_lines(attributes_of(code), &answers(&params)).unwrap_or_else(|mut p| {
        problems.append(&mut p);
        Vec::new()
    });
    let link = media_link(&params, &mut problems);
    let [email, first_name, last_name, phone, device_id, account_id] =
        ["email", "first_name", "last_name", "phone", "device_id", "account_id"]
            .map(|name| contact(&params, name, &mut problems));
    let Some((lat, lon)) = point.filter(|_| problems.is_empty()) else {
        return Err(Open311Error::invalid(format, problems));
    };

    // The report the phone app would have sent: the same JSON through the same pipeline.
    let mut description = params.get("description").unwrap_or("").to_owned();
    let mut details = lines;
    if let Some(url) = &link {
        details.push(format!("Photo link (sent by the app, not downloaded): {url}"));
    }
    if !details.is_empty() {
        if !description.is_empty() {
            description.push_str("\n\n");
        }
        description.push_str(&details.join("\n"));
    }
    let report = json!({
        "category": code,
        "location": { "lat": lat, "lon": lon },
        "description": description,
        "address": params.get("address_string"),
    });
    let account = state
        .storage
        .user(key.account)
        .await
        .in_format(format)?
        .ok_or_else(|| Open311Error::forbidden(format, "this api_key's account no longer exists"))?;
    let submission = Open311SubmissionRecord {
        token: new_token(),
        // Filled in with the new report's id by `submit_report_via`, which stores both together.
        report: ReportId(uuid::Uuid::nil()),
        key: key.id,
        email,
        first_name,
        last_name,
        phone,
        device_id,
        account_id: account_id.clone(),
        created_at: state.clock.now(),
    };
    let token = submission.token.clone();
    let submitted = submit_report_via(&state, &account, report.to_string().as_bytes(), media, Some(submission))
        .await
        .in_format(format)?
        .report;
    tracing::info!(report = %submitted.id, number = submitted.number, app = %key.app_name, "Open311 service request");
    let doc = Document::list(
        "service_requests",
        "request",
        vec![Node::Record(vec![
            ("service_request_id", Node::text(submitted.number.to_string())),
            ("token", Node::text(token)),
            ("service_notice", Node::opt_text(service_notice(&reference, &submitted))),
            ("account_id", Node::opt_text(account_id)),
        ])],
    );
    Ok(doc.respond(format, StatusCode::OK))
}
