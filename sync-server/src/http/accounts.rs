//! Sign-up, sign-in, sign-out and "me".

use super::extract::Json;
use crate::auth::{CurrentUser, bearer_token, hash_password, new_session_token, token_sha256, verify_login};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::state::AppState;
use crate::storage::{ReportQuery, UserRecord};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use smartmap_shared::ids::UserId;
use smartmap_shared::role::Role;
use smartmap_shared::sync::{RefreshRequest, TokenPair};

/// The accounts routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/register", post(register))
        .route("/api/auth/login", post(login))
        .route("/api/auth/logout", post(logout))
        .route("/api/auth/refresh", post(refresh))
        .route("/api/me", get(me))
        .route("/api/me/reports", get(my_reports))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
/// A resident signing up.
pub struct Register {
    /// Login e-mail.
    email: String,
    /// At least 10 characters.
    password: String,
    /// Name shown to staff (never to the public).
    display_name: String,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
/// Signing in.
pub struct Login {
    /// Login e-mail.
    email: String,
    /// Password.
    password: String,
    /// A phone's installation id: with it, the answer is a device token pair (a short-lived
    /// access token and a refresh token bound to this device) instead of a browser session.
    #[serde(default)]
    device_id: Option<uuid::Uuid>,
}

/// The account as its owner sees it.
pub fn account_json(u: &UserRecord) -> Value {
    json!({
        "id": u.id,
        "email": u.email,
        "display_name": u.display_name,
        "role": u.role,
        "district": u.district,
        "body": u.body,
        "created_at": u.created_at,
    })
}

/// Checks an e-mail address's shape (delivery is the mailer's business).
pub fn parse_email(raw: &str) -> Result<String, FieldError> {
    let email = raw.trim().to_lowercase();
    let ok = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        })
        && !email.contains(char::is_whitespace);
    if ok {
        Ok(email)
    } else {
        Err(FieldError { field: "email".into(), code: "invalid_email", message: "not an e-mail address".into() })
    }
}

/// Creates an account of any role (admins use this for staff; sign-up for residents).
pub async fn create_account(
    state: &AppState,
    email: &str,
    password: &str,
    display_name: &str,
    role: Role,
    district: Option<smartmap_shared::ids::DistrictId>,
    body: Option<smartmap_shared::ids::BodyId>,
) -> ApiResult<UserRecord> {
    let mut errors = Vec::new();
    let email = parse_email(email).map_err(|e| errors.push(e)).ok();
    if password.chars().count() < 10 {
        errors.push(FieldError {
            field: "password".into(),
            code: "too_short",
            message: "at least 10 characters".into(),
        });
    }
    let display_name = display_name.trim();
    if display_name.is_empty() || display_name.chars().count() > 100 {
        errors.push(FieldError {
            field: "display_name".into(),
            code: "invalid_length",
            message: "1–100 characters".into(),
        });
    }
    let Some(email) = email.filter(|_| errors.is_empty()) else { return Err(ApiError::Invalid(errors)) };
    let password = password.to_owned();
    let password_hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ApiError::Internal(e.into()))??;
    let user = UserRecord {
        id: UserId::new_v7(),
        email,
        display_name: display_name.to_owned(),
        password_hash,
        role,
        district,
        body,
        created_at: state.clock.now(),
    };
    state.storage.create_user(&user).await?;
    Ok(user)
}

async fn register(
    State(state): State<AppState>,
    Json(r): Json<Register>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    let user = create_account(&state, &r.email, &r.password, &r.display_name, Role::Resident, None, None).await?;
    let token = start_session(&state, &user).await?;
    Ok((StatusCode::CREATED, axum::Json(json!({ "token": token, "user": account_json(&user) }))))
}

async fn start_session(state: &AppState, user: &UserRecord) -> ApiResult<String> {
    let (token, stored) = new_session_token();
    let expires = state.clock.now() + chrono::Duration::days(state.settings.session_days);
    state.storage.create_session(&stored, user.id, expires).await?;
    Ok(token)
}

async fn login(State(state): State<AppState>, Json(l): Json<Login>) -> ApiResult<axum::Json<Value>> {
    let email = l.email.trim().to_lowercase();
    let user = state.storage.user_by_email(&email).await?;
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let password = l.password;
    let ok = tokio::task::spawn_blocking(move || verify_login(&password, hash.as_deref()))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    let Some(user) = user.filter(|_| ok) else {
        return Err(ApiError::field("password", "wrong_credentials", "the e-mail or the password is wrong"));
    };
    if let Some(device) = l.device_id {
        let pair = crate::device_auth::sign_in_device(&state, &user, device).await?;
        return Ok(axum::Json(serde_json::to_value(pair).map_err(|e| ApiError::Internal(e.into()))?));
    }
    let token = start_session(&state, &user).await?;
    Ok(axum::Json(json!({ "token": token, "user": account_json(&user) })))
}

/// `RefreshRequest` as the route parses it (with a schema for the OpenAPI description).
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
/// A device exchanging its refresh token for a new pair.
pub struct Refresh {
    /// The refresh token last received.
    refresh_token: String,
    /// The installation it was issued to.
    device_id: uuid::Uuid,
}

async fn refresh(State(state): State<AppState>, Json(r): Json<Refresh>) -> ApiResult<axum::Json<TokenPair>> {
    let request = RefreshRequest { refresh_token: r.refresh_token, device_id: r.device_id };
    Ok(axum::Json(crate::device_auth::refresh(&state, &request).await?))
}

async fn logout(
    State(state): State<AppState>,
    CurrentUser(_): CurrentUser,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let stored = token_sha256(bearer_token(&headers).unwrap_or(""));
    crate::device_auth::sign_out_device(&state, &stored).await?;
    state.storage.delete_session(&stored).await?;
    state.sessions.forget(&stored);
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's account, with the names of its scope (`district_name`, `body_name`: `{ka, en}`
/// or null) for the UI to show whose queue it is.
async fn me(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> axum::Json<Value> {
    let reference = state.reference();
    let mut account = account_json(&user);
    account["district_name"] = json!(user.district.as_ref().and_then(|d| reference.districts.get(d)).map(|d| &d.name));
    account["body_name"] = json!(user.body.as_ref().and_then(|b| reference.body(b)).map(|b| &b.name));
    axum::Json(account)
}

async fn my_reports(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> ApiResult<axum::Json<Value>> {
    let query = ReportQuery { reporter: Some(user.id), limit: 500, ..ReportQuery::default() };
    let reports = state.storage.query_reports(&query).await?;
    let reference = state.reference();
    let items: Vec<Value> = reports.iter().map(|r| crate::reports::views::public_summary(r, &reference)).collect();
    Ok(axum::Json(json!({ "items": items })))
}
