//! Accounts: Argon2id password hashes, opaque random session tokens stored only as their sha256,
//! and the extractors that tell a handler who is calling.

use crate::error::ApiError;
use crate::state::AppState;
use crate::storage::UserRecord;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Hashes a password with Argon2id and a random salt.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

/// Checks a sign-in. Argon2 runs whether or not the account exists (against a hash made once per
/// process), so the time taken does not tell which e-mail addresses have accounts.
pub fn verify_login(password: &str, stored_hash: Option<&str>) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash_password("no account has this password").expect("hashing a constant"));
    verify_password(password, stored_hash.unwrap_or(dummy)) && stored_hash.is_some()
}

/// Whether `password` matches the stored PHC `hash`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

/// A fresh session token (256 random bits, hex) and the sha256 under which it is stored.
pub fn new_session_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let stored = token_sha256(&token);
    (token, stored)
}

/// The stored form of a session token.
pub fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Sessions resolved in the last few seconds, so that an authenticated request costs no database
/// read. An entry lives [`SessionCache::TTL`] by the injected clock: a session ended through another
/// replica (or expired) stops working within that; one ended through this process stops at once.
#[derive(Default)]
pub struct SessionCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, (UserRecord, chrono::DateTime<chrono::Utc>)>>,
}

impl SessionCache {
    /// How long a resolved session is trusted without asking the database again.
    pub const TTL: chrono::Duration = chrono::Duration::seconds(5);
    /// Past this many entries the cache starts over (a crude bound; entries are cheap to refetch).
    const MAX_ENTRIES: usize = 10_000;

    fn get(&self, token_sha256: &str, now: chrono::DateTime<chrono::Utc>) -> Option<UserRecord> {
        let entries = self.entries.lock().expect("session cache lock");
        let (user, fetched) = entries.get(token_sha256)?;
        (now >= *fetched && now - *fetched < Self::TTL).then(|| user.clone())
    }

    fn put(&self, token_sha256: String, user: UserRecord, now: chrono::DateTime<chrono::Utc>) {
        let mut entries = self.entries.lock().expect("session cache lock");
        if entries.len() >= Self::MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(token_sha256, (user, now));
    }

    /// Forgets a session (sign-out).
    pub fn forget(&self, token_sha256: &str) {
        self.entries.lock().expect("session cache lock").remove(token_sha256);
    }
}

/// The signed-in caller; rejects with 401 when there is no live session.
pub struct CurrentUser(pub UserRecord);

/// The caller if signed in; public routes use it to show more to staff.
pub struct MaybeUser(pub Option<UserRecord>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // The route gate may have resolved the session already.
        if let Some(user) = parts.extensions.get::<UserRecord>() {
            return Ok(MaybeUser(Some(user.clone())));
        }
        session_user(state, &parts.headers).await.map(MaybeUser)
    }
}

/// The account behind the request's bearer token: `None` without a token, 401 for a token that
/// is not (or no longer) valid — a stale token is said so, not silently treated as anonymous.
pub async fn session_user(state: &AppState, headers: &axum::http::HeaderMap) -> Result<Option<UserRecord>, ApiError> {
    let Some(token) = bearer_token(headers) else { return Ok(None) };
    let stored = token_sha256(token);
    let now = state.clock.now();
    if let Some(user) = state.sessions.get(&stored, now) {
        return Ok(Some(user));
    }
    match state.storage.session_user(&stored, now).await? {
        Some(user) => {
            state.sessions.put(stored, user.clone(), now);
            Ok(Some(user))
        }
        None => Err(ApiError::Unauthenticated),
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match MaybeUser::from_request_parts(parts, state).await? {
            MaybeUser(Some(user)) => Ok(CurrentUser(user)),
            MaybeUser(None) => Err(ApiError::Unauthenticated),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("correct horse!", &hash));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn a_cached_session_is_trusted_only_for_a_few_seconds_and_until_sign_out() {
        use chrono::TimeZone;
        let t0 = chrono::Utc.with_ymd_and_hms(2026, 3, 10, 5, 0, 0).unwrap();
        let user = UserRecord {
            id: smartmap_shared::ids::UserId::new_v7(),
            email: "nino@example.ge".into(),
            display_name: "ნინო".into(),
            password_hash: String::new(),
            role: smartmap_shared::role::Role::Resident,
            district: None,
            body: None,
            created_at: t0,
        };
        let cache = SessionCache::default();
        assert!(cache.get("a", t0).is_none());
        cache.put("a".into(), user.clone(), t0);
        assert_eq!(cache.get("a", t0 + chrono::Duration::seconds(4)), Some(user.clone()));
        assert!(cache.get("a", t0 + SessionCache::TTL).is_none(), "stale after the TTL");
        assert!(cache.get("a", t0 - chrono::Duration::seconds(1)).is_none(), "a clock set back is not trusted");
        cache.put("a".into(), user, t0);
        cache.forget("a");
        assert!(cache.get("a", t0).is_none(), "gone at sign-out");
    }

    #[test]
    fn a_sign_in_for_an_unknown_account_fails_after_a_real_verification() {
        let hash = hash_password("correct horse").unwrap();
        assert!(verify_login("correct horse", Some(&hash)));
        assert!(!verify_login("correct horse!", Some(&hash)));
        assert!(!verify_login("no account has this password", None), "the dummy never lets anyone in");
    }

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let (a, a_stored) = new_session_token();
        let (b, _) = new_session_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_ne!(a, a_stored);
        assert_eq!(token_sha256(&a), a_stored);
    }
}
