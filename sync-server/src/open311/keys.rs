//! Open311 API keys, issued by an admin to a registered app (`POST /api/admin/open311/keys`) and
//! listed without the keys themselves (`GET /api/admin/open311/keys`). These are ordinary admin
//! routes of our own API, so their errors are problem+json like the rest of `/api`.
//!
//! A key is 256 random bits, shown once when issued and stored only as its sha256. Issuing one
//! also creates the app's own resident account, which its reports are submitted through: staff
//! see the app as the reporter, and the app's reports stay apart from everyone else's.

use crate::auth::{CurrentUser, token_sha256};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::http::accounts::parse_email;
use crate::http::extract::Json;
use crate::state::AppState;
use crate::storage::{Open311KeyRecord, UserRecord};
use axum::extract::State;
use axum::http::StatusCode;
use rand::RngCore;
use serde::Deserialize;
use serde_json::{Value, json};
use smartmap_shared::ids::UserId;
use smartmap_shared::role::Role;

/// What an admin registers an app with.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// The app's name, shown to staff as the reporter of its reports.
    pub app_name: String,
    /// Whom to contact about the app.
    pub contact_email: String,
}

/// The longest app name.
const MAX_APP_NAME_CHARS: usize = 100;

/// The stored "password" of an app account: not a password hash, so no password ever matches
/// and nobody signs in as an app.
const NO_PASSWORD: &str = "!open311-app-account: no sign-in";

fn require_admin(user: &UserRecord) -> ApiResult<()> {
    if user.role == Role::Admin { Ok(()) } else { Err(ApiError::Forbidden("admins only".into())) }
}

fn key_json(k: &Open311KeyRecord) -> Value {
    json!({
        "id": k.id,
        "app_name": k.app_name,
        "contact_email": k.contact_email,
        "account_id": k.account,
        "created_at": k.created_at,
    })
}

/// `POST /api/admin/open311/keys`: registers an app; answers its key, once.
pub async fn issue(
    State(state): State<AppState>,
    CurrentUser(admin): CurrentUser,
    Json(form): Json<NewKey>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    require_admin(&admin)?;
    let mut errors = Vec::new();
    let app_name = form.app_name.trim().to_owned();
    if app_name.is_empty() || app_name.chars().count() > MAX_APP_NAME_CHARS || app_name.contains(char::is_control) {
        errors.push(FieldError {
            field: "app_name".into(),
            code: "invalid_length",
            message: format!("1–{MAX_APP_NAME_CHARS} characters on one line"),
        });
    }
    let contact_email = parse_email(&form.contact_email)
        .map_err(|e| errors.push(FieldError { field: "contact_email".into(), ..e }))
        .ok();
    let (Some(contact_email), true) = (contact_email, errors.is_empty()) else {
        return Err(ApiError::Invalid(errors));
    };

    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let api_key = hex::encode(secret);
    let now = state.clock.now();
    let id = uuid::Uuid::now_v7();
    let account = UserRecord {
        id: UserId::new_v7(),
        email: format!("open311-app-{}@open311.invalid", id.simple()),
        display_name: format!("{app_name} (Open311 app)"),
        password_hash: NO_PASSWORD.into(),
        role: Role::Resident,
        district: None,
        body: None,
        created_at: now,
    };
    let key = Open311KeyRecord {
        id,
        key_sha256: token_sha256(&api_key),
        app_name,
        contact_email,
        account: account.id,
        created_at: now,
    };
    state.storage.create_open311_key(&key, &account).await?;
    tracing::info!(key = %key.id, app = %key.app_name, admin = %admin.id, "Open311 api_key issued");
    let mut body = key_json(&key);
    body["api_key"] = json!(api_key);
    body["note"] = json!("Store the api_key now: it is shown only this once and kept only as a hash.");
    Ok((StatusCode::CREATED, axum::Json(body)))
}

/// `GET /api/admin/open311/keys`: the registered apps, without their keys.
pub async fn list(State(state): State<AppState>, CurrentUser(admin): CurrentUser) -> ApiResult<axum::Json<Value>> {
    require_admin(&admin)?;
    let keys = state.storage.open311_keys().await?;
    Ok(axum::Json(json!({ "items": keys.iter().map(key_json).collect::<Vec<_>>() })))
}
