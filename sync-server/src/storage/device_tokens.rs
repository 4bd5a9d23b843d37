//! Device sign-in storage: refresh tokens bound to a device, rotated on every refresh, grouped in
//! chains (every token descended from one sign-in) so that a reused token revokes them all.
//!
//! A separate trait from [`super::Storage`] (whose supertrait it is), implemented here for both
//! backends. Each method is one transaction: the access session (a row in `sessions`) and the
//! refresh token it was issued with are stored, spent and revoked together.

use super::{PgStorage, Result, SqliteStorage, StorageError};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use smartmap_shared::ids::UserId;
use sqlx::Row;
use uuid::Uuid;

/// The hashes and lifetimes of a fresh token pair (the tokens themselves are never stored).
#[derive(Debug, Clone)]
pub struct NewTokens {
    /// sha256 of the access token (stored in `sessions`).
    pub session_sha256: String,
    /// When the access token stops working.
    pub session_expires_at: DateTime<Utc>,
    /// sha256 of the refresh token.
    pub refresh_sha256: String,
    /// When the refresh token stops working if unused.
    pub refresh_expires_at: DateTime<Utc>,
}

/// Why a refresh token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No such token.
    Unknown,
    /// Past its expiry.
    Expired,
    /// Its chain was revoked (sign-out, or an earlier reuse).
    Revoked,
    /// Presented with another device id: the chain is revoked.
    DeviceMismatch,
    /// Spent, and presented again after the grace: the chain is revoked.
    Reused,
}

/// The outcome of presenting a refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// Exchanged: the [`NewTokens`] are stored for this account.
    Rotated {
        /// The token's owner.
        user: UserId,
        /// sha256 of the access session ended with a replaced successor (a retry within the grace).
        ended_sessions: Vec<String>,
    },
    /// Refused; `ended_sessions` are the access sessions this ended (to evict from caches).
    Refused {
        /// Why.
        refusal: Refusal,
        /// sha256 of each access session ended by a chain revocation.
        ended_sessions: Vec<String>,
    },
}

/// Storage of device refresh-token chains.
#[async_trait]
pub trait DeviceTokenStorage: Send + Sync + 'static {
    /// A device signs in: stores the access session and the first refresh token of a new chain.
    async fn start_device_chain(
        &self,
        user: UserId,
        device: Uuid,
        tokens: &NewTokens,
        now: DateTime<Utc>,
    ) -> Result<()>;

    /// Exchanges the refresh token whose sha256 is `presented` (for `device`) for `tokens`: the
    /// presented token is spent, a successor issued. A spent token presented again within
    /// `grace` of its spending gets `tokens` too (its earlier successor is revoked); after the
    /// grace, or from another device, the whole chain is revoked and its sessions ended.
    async fn rotate_refresh_token(
        &self,
        presented: &str,
        device: Uuid,
        tokens: &NewTokens,
        grace: Duration,
        now: DateTime<Utc>,
    ) -> Result<Rotation>;

    /// Revokes the chain the access session `session_sha256` was issued in (sign-out), ending
    /// every session of the chain; returns their sha256s. A session without a chain: nothing.
    async fn revoke_device_chain_of_session(&self, session_sha256: &str, now: DateTime<Utc>) -> Result<Vec<String>>;
}

/// A refresh token's row, read by either backend.
struct TokenRow {
    chain: Uuid,
    user: Uuid,
    device: Uuid,
    expires_at: DateTime<Utc>,
    spent_at: Option<DateTime<Utc>>,
    successor: Option<String>,
    revoked: bool,
}

/// What to do with a presented token, decided the same way for both backends.
enum Decision {
    Refuse(Refusal),
    RevokeChain(Refusal),
    /// Exchange it; if `replace` names a successor (a retry within the grace), revoke that first.
    Exchange {
        replace: Option<String>,
    },
}

fn decide(row: &TokenRow, device: Uuid, grace: Duration, now: DateTime<Utc>) -> Decision {
    if row.revoked {
        return Decision::Refuse(Refusal::Revoked);
    }
    if row.device != device {
        return Decision::RevokeChain(Refusal::DeviceMismatch);
    }
    if row.expires_at <= now {
        return Decision::Refuse(Refusal::Expired);
    }
    match row.spent_at {
        None => Decision::Exchange { replace: None },
        Some(spent) if now - spent <= grace => Decision::Exchange { replace: row.successor.clone() },
        Some(_) => Decision::RevokeChain(Refusal::Reused),
    }
}

fn corrupt(e: uuid::Error) -> StorageError {
    StorageError::Corrupt(format!("uuid: {e}"))
}

fn sqlite_uuid(bytes: Vec<u8>) -> Result<Uuid> {
    Uuid::from_slice(&bytes).map_err(corrupt)
}

fn from_ms(v: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(v).ok_or_else(|| StorageError::Corrupt(format!("time {v}")))
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

type SqliteTx<'a> = sqlx::Transaction<'a, sqlx::Sqlite>;

async fn sqlite_insert_pair(
    tx: &mut SqliteTx<'_>,
    chain: Uuid,
    user: Uuid,
    device: Uuid,
    tokens: &NewTokens,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("INSERT INTO sessions (token_sha256, user_id, expires_at) VALUES (?, ?, ?)")
        .bind(&tokens.session_sha256)
        .bind(user.as_bytes().as_slice())
        .bind(ms(tokens.session_expires_at))
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO device_refresh_tokens (token_sha256, chain_id, user_id, device_id, session_sha256, issued_at, \
         expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&tokens.refresh_sha256)
    .bind(chain.as_bytes().as_slice())
    .bind(user.as_bytes().as_slice())
    .bind(device.as_bytes().as_slice())
    .bind(&tokens.session_sha256)
    .bind(ms(now))
    .bind(ms(tokens.refresh_expires_at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn sqlite_revoke_chain(tx: &mut SqliteTx<'_>, chain: Uuid, now: DateTime<Utc>) -> Result<Vec<String>> {
    let chain = chain.as_bytes().as_slice();
    sqlx::query("UPDATE device_refresh_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE chain_id = ?")
        .bind(ms(now))
        .bind(chain)
        .execute(&mut **tx)
        .await?;
    let sessions: Vec<String> =
        sqlx::query_scalar("SELECT session_sha256 FROM device_refresh_tokens WHERE chain_id = ?")
            .bind(chain)
            .fetch_all(&mut **tx)
            .await?;
    sqlx::query(
        "DELETE FROM sessions WHERE token_sha256 IN (SELECT session_sha256 FROM device_refresh_tokens WHERE chain_id = ?)",
    )
    .bind(chain)
    .execute(&mut **tx)
    .await?;
    Ok(sessions)
}

/// Revokes one token (a successor replaced by a retry within the grace) and ends its session.
async fn sqlite_revoke_one(tx: &mut SqliteTx<'_>, token: &str, now: DateTime<Utc>) -> Result<Option<String>> {
    let session: Option<String> = sqlx::query_scalar(
        "UPDATE device_refresh_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE token_sha256 = ? \
         RETURNING session_sha256",
    )
    .bind(ms(now))
    .bind(token)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(session) = &session {
        sqlx::query("DELETE FROM sessions WHERE token_sha256 = ?").bind(session).execute(&mut **tx).await?;
    }
    Ok(session)
}

#[async_trait]
impl DeviceTokenStorage for SqliteStorage {
    async fn start_device_chain(
        &self,
        user: UserId,
        device: Uuid,
        tokens: &NewTokens,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlite_insert_pair(&mut tx, Uuid::now_v7(), user.0, device, tokens, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn rotate_refresh_token(
        &self,
        presented: &str,
        device: Uuid,
        tokens: &NewTokens,
        grace: Duration,
        now: DateTime<Utc>,
    ) -> Result<Rotation> {
        // IMMEDIATE: the read below and the writes after it see one state (the group-commit
        // ingest thread writes through another connection).
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let row = sqlx::query(
            "SELECT chain_id, user_id, device_id, expires_at, spent_at, successor_sha256, revoked_at \
             FROM device_refresh_tokens WHERE token_sha256 = ?",
        )
        .bind(presented)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(Rotation::Refused { refusal: Refusal::Unknown, ended_sessions: Vec::new() });
        };
        let row = TokenRow {
            chain: sqlite_uuid(row.try_get("chain_id")?)?,
            user: sqlite_uuid(row.try_get("user_id")?)?,
            device: sqlite_uuid(row.try_get("device_id")?)?,
            expires_at: from_ms(row.try_get("expires_at")?)?,
            spent_at: row.try_get::<Option<i64>, _>("spent_at")?.map(from_ms).transpose()?,
            successor: row.try_get("successor_sha256")?,
            revoked: row.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
        };
        let outcome = match decide(&row, device, grace, now) {
            Decision::Refuse(refusal) => Rotation::Refused { refusal, ended_sessions: Vec::new() },
            Decision::RevokeChain(refusal) => {
                let ended_sessions = sqlite_revoke_chain(&mut tx, row.chain, now).await?;
                Rotation::Refused { refusal, ended_sessions }
            }
            Decision::Exchange { replace } => {
                let mut ended_sessions = Vec::new();
                if let Some(successor) = replace {
                    ended_sessions.extend(sqlite_revoke_one(&mut tx, &successor, now).await?);
                }
                sqlite_insert_pair(&mut tx, row.chain, row.user, row.device, tokens, now).await?;
                sqlx::query(
                    "UPDATE device_refresh_tokens SET spent_at = COALESCE(spent_at, ?), successor_sha256 = ? \
                     WHERE token_sha256 = ?",
                )
                .bind(ms(now))
                .bind(&tokens.refresh_sha256)
                .bind(presented)
                .execute(&mut *tx)
                .await?;
                Rotation::Rotated { user: UserId(row.user), ended_sessions }
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn revoke_device_chain_of_session(&self, session_sha256: &str, now: DateTime<Utc>) -> Result<Vec<String>> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let chain: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT chain_id FROM device_refresh_tokens WHERE session_sha256 = ? LIMIT 1")
                .bind(session_sha256)
                .fetch_optional(&mut *tx)
                .await?;
        let ended = match chain {
            Some(chain) => sqlite_revoke_chain(&mut tx, sqlite_uuid(chain)?, now).await?,
            None => Vec::new(),
        };
        tx.commit().await?;
        Ok(ended)
    }
}

type PgTx<'a> = sqlx::Transaction<'a, sqlx::Postgres>;

async fn pg_insert_pair(
    tx: &mut PgTx<'_>,
    chain: Uuid,
    user: Uuid,
    device: Uuid,
    tokens: &NewTokens,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("INSERT INTO sessions (token_sha256, user_id, expires_at) VALUES ($1, $2, $3)")
        .bind(&tokens.session_sha256)
        .bind(user)
        .bind(tokens.session_expires_at)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO device_refresh_tokens (token_sha256, chain_id, user_id, device_id, session_sha256, issued_at, \
         expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&tokens.refresh_sha256)
    .bind(chain)
    .bind(user)
    .bind(device)
    .bind(&tokens.session_sha256)
    .bind(now)
    .bind(tokens.refresh_expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn pg_revoke_chain(tx: &mut PgTx<'_>, chain: Uuid, now: DateTime<Utc>) -> Result<Vec<String>> {
    let sessions: Vec<String> = sqlx::query_scalar(
        "UPDATE device_refresh_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE chain_id = $2 \
         RETURNING session_sha256",
    )
    .bind(now)
    .bind(chain)
    .fetch_all(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM sessions WHERE token_sha256 = ANY($1)").bind(&sessions).execute(&mut **tx).await?;
    Ok(sessions)
}

async fn pg_revoke_one(tx: &mut PgTx<'_>, token: &str, now: DateTime<Utc>) -> Result<Option<String>> {
    let session: Option<String> = sqlx::query_scalar(
        "UPDATE device_refresh_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE token_sha256 = $2 \
         RETURNING session_sha256",
    )
    .bind(now)
    .bind(token)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(session) = &session {
        sqlx::query("DELETE FROM sessions WHERE token_sha256 = $1").bind(session).execute(&mut **tx).await?;
    }
    Ok(session)
}

#[async_trait]
impl DeviceTokenStorage for PgStorage {
    async fn start_device_chain(
        &self,
        user: UserId,
        device: Uuid,
        tokens: &NewTokens,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        pg_insert_pair(&mut tx, Uuid::now_v7(), user.0, device, tokens, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn rotate_refresh_token(
        &self,
        presented: &str,
        device: Uuid,
        tokens: &NewTokens,
        grace: Duration,
        now: DateTime<Utc>,
    ) -> Result<Rotation> {
        let mut tx = self.pool.begin().await?;
        // FOR UPDATE: two concurrent refreshes with one token are decided one after the other.
        let row = sqlx::query(
            "SELECT chain_id, user_id, device_id, expires_at, spent_at, successor_sha256, revoked_at \
             FROM device_refresh_tokens WHERE token_sha256 = $1 FOR UPDATE",
        )
        .bind(presented)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(Rotation::Refused { refusal: Refusal::Unknown, ended_sessions: Vec::new() });
        };
        let row = TokenRow {
            chain: row.try_get("chain_id")?,
            user: row.try_get("user_id")?,
            device: row.try_get("device_id")?,
            expires_at: row.try_get("expires_at")?,
            spent_at: row.try_get("spent_at")?,
            successor: row.try_get("successor_sha256")?,
            revoked: row.try_get::<Option<DateTime<Utc>>, _>("revoked_at")?.is_some(),
        };
        let outcome = match decide(&row, device, grace, now) {
            Decision::Refuse(refusal) => Rotation::Refused { refusal, ended_sessions: Vec::new() },
            Decision::RevokeChain(refusal) => {
                let ended_sessions = pg_revoke_chain(&mut tx, row.chain, now).await?;
                Rotation::Refused { refusal, ended_sessions }
            }
            Decision::Exchange { replace } => {
                let mut ended_sessions = Vec::new();
                if let Some(successor) = replace {
                    ended_sessions.extend(pg_revoke_one(&mut tx, &successor, now).await?);
                }
                pg_insert_pair(&mut tx, row.chain, row.user, row.device, tokens, now).await?;
                sqlx::query(
                    "UPDATE device_refresh_tokens SET spent_at = COALESCE(spent_at, $1), successor_sha256 = $2 \
                     WHERE token_sha256 = $3",
                )
                .bind(now)
                .bind(&tokens.refresh_sha256)
                .bind(presented)
                .execute(&mut *tx)
                .await?;
                Rotation::Rotated { user: UserId(row.user), ended_sessions }
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn revoke_device_chain_of_session(&self, session_sha256: &str, now: DateTime<Utc>) -> Result<Vec<String>> {
        let mut tx = self.pool.begin().await?;
        let chain: Option<Uuid> =
            sqlx::query_scalar("SELECT chain_id FROM device_refresh_tokens WHERE session_sha256 = $1 LIMIT 1")
                .bind(session_sha256)
                .fetch_optional(&mut *tx)
                .await?;
        let ended = match chain {
            Some(chain) => pg_revoke_chain(&mut tx, chain, now).await?,
            None => Vec::new(),
        };
        tx.commit().await?;
        Ok(ended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn row(spent_at: Option<DateTime<Utc>>) -> TokenRow {
        let t0 = Utc.with_ymd_and_hms(2026, 3, 10, 5, 0, 0).unwrap();
        TokenRow {
            chain: Uuid::nil(),
            user: Uuid::nil(),
            device: Uuid::from_u128(7),
            expires_at: t0 + Duration::days(90),
            spent_at,
            successor: spent_at.map(|_| "next".to_owned()),
            revoked: false,
        }
    }

    #[test]
    fn a_spent_token_is_honoured_only_within_the_grace_and_only_on_its_device() {
        let t0 = Utc.with_ymd_and_hms(2026, 3, 10, 5, 0, 0).unwrap();
        let grace = Duration::seconds(30);
        let device = Uuid::from_u128(7);
        assert!(matches!(decide(&row(None), device, grace, t0), Decision::Exchange { replace: None }));
        let spent = row(Some(t0));
        assert!(matches!(
            decide(&spent, device, grace, t0 + Duration::seconds(30)),
            Decision::Exchange { replace: Some(_) }
        ));
        assert!(matches!(
            decide(&spent, device, grace, t0 + Duration::seconds(31)),
            Decision::RevokeChain(Refusal::Reused)
        ));
        assert!(matches!(
            decide(&row(None), Uuid::from_u128(8), grace, t0),
            Decision::RevokeChain(Refusal::DeviceMismatch)
        ));
        assert!(matches!(
            decide(&row(None), device, grace, t0 + Duration::days(90)),
            Decision::Refuse(Refusal::Expired)
        ));
    }
}
