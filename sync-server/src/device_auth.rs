//! Signing a phone in: a short-lived access token (an ordinary session, `access_token_minutes`)
//! and a refresh token bound to the device (`refresh_token_days`), rotated on every refresh.
//!
//! Rotation with a grace: a retry of a spent refresh token within `refresh_grace_seconds` (the
//! answer to the first try was lost) gets a fresh pair and the pair issued to the first try is
//! revoked; a spent token presented after the grace, or a token presented with another device id,
//! revokes the whole chain (every token descended from the same sign-in) and ends its sessions.
//! Every refusal is the same 401 `refresh_invalid`, whatever the reason, so a thief learns
//! nothing. Time comes from the injected clock.

use crate::auth::new_session_token;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::{NewTokens, Rotation, UserRecord};
use smartmap_shared::sync::{RefreshRequest, TokenPair};
use uuid::Uuid;

/// Fresh tokens (random, 256 bits) and their stored hashes, with lifetimes from the settings.
fn mint(state: &AppState) -> (String, String, NewTokens) {
    let now = state.clock.now();
    let (token, session_sha256) = new_session_token();
    let (refresh_token, refresh_sha256) = new_session_token();
    let tokens = NewTokens {
        session_sha256,
        session_expires_at: now + chrono::Duration::minutes(state.settings.access_token_minutes),
        refresh_sha256,
        refresh_expires_at: now + chrono::Duration::days(state.settings.refresh_token_days),
    };
    (token, refresh_token, tokens)
}

fn pair(user: &UserRecord, token: String, refresh_token: String, tokens: &NewTokens) -> TokenPair {
    TokenPair {
        token,
        expires_at: tokens.session_expires_at,
        refresh_token,
        refresh_expires_at: tokens.refresh_expires_at,
        user: crate::http::accounts::account_json(user),
    }
}

/// `user` (whose password was checked) signs in on `device`: a new refresh chain.
#[tracing::instrument(skip_all, fields(user = %user.id), err(Debug))]
pub async fn sign_in_device(state: &AppState, user: &UserRecord, device: Uuid) -> ApiResult<TokenPair> {
    let (token, refresh_token, tokens) = mint(state);
    state.storage.start_device_chain(user.id, device, &tokens, state.clock.now()).await?;
    Ok(pair(user, token, refresh_token, &tokens))
}

/// Exchanges a refresh token for a new pair (see the module docs for the rules).
#[tracing::instrument(skip_all, err(Debug))]
pub async fn refresh(state: &AppState, request: &RefreshRequest) -> ApiResult<TokenPair> {
    let (token, refresh_token, tokens) = mint(state);
    let presented = crate::auth::token_sha256(&request.refresh_token);
    let grace = chrono::Duration::seconds(state.settings.refresh_grace_seconds);
    let now = state.clock.now();
    match state.storage.rotate_refresh_token(&presented, request.device_id, &tokens, grace, now).await? {
        Rotation::Rotated { user, ended_sessions } => {
            for session in &ended_sessions {
                state.sessions.forget(session);
            }
            let user = state.storage.user(user).await?.ok_or(ApiError::RefreshInvalid)?;
            Ok(pair(&user, token, refresh_token, &tokens))
        }
        Rotation::Refused { refusal, ended_sessions } => {
            tracing::info!(?refusal, ended = ended_sessions.len(), "refresh refused");
            for session in &ended_sessions {
                state.sessions.forget(session);
            }
            Err(ApiError::RefreshInvalid)
        }
    }
}

/// Sign-out of a device session: its refresh chain is revoked and every session of the chain
/// ends (a browser session has no chain; nothing more happens).
pub async fn sign_out_device(state: &AppState, session_sha256: &str) -> ApiResult<()> {
    let ended = state.storage.revoke_device_chain_of_session(session_sha256, state.clock.now()).await?;
    for session in &ended {
        state.sessions.forget(session);
    }
    Ok(())
}
