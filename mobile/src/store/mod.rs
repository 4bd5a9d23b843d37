//! The phone's SQLite database: one file, WAL, `synchronous=FULL`, migrated through
//! `PRAGMA user_version`.
//!
//! Everything the app knows lives here, so a killed app loses nothing it had accepted:
//! the outbox of mutations, the prepared photos and their upload state, the state synced from the
//! server, and `sync_meta` (device id, cursor, tokens).
//!
//! # Layout
//! - this file: opening, migrations, `sync_meta`, time and id conversions.
//! - `schema`: the migrations, append-only.
//! - `outbox`: mutations and their life (pending → in_flight → acked | rejected).
//! - `photos`: prepared photos and their resumable-upload state.
//! - `synced`: pull pages, snapshots, synced reports and reference data.

mod outbox;
mod photos;
mod schema;
mod synced;

pub use outbox::{AccountRef, NewPhoto, OutboxRow, OutboxState, RejectionView};
pub use photos::PhotoUpload;
pub use synced::ReferenceData;

use crate::error::{Error, Result};
use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use uuid::Uuid;

/// Keys of `sync_meta`.
pub mod meta {
    /// This installation's id, minted once.
    pub const DEVICE_ID: &str = "device_id";
    /// The next `device_seq` to hand out.
    pub const NEXT_DEVICE_SEQ: &str = "next_device_seq";
    /// The change-feed cursor (`epoch.seq`), written with the page it ends.
    pub const CURSOR: &str = "cursor";
    /// Server clock minus phone clock, in milliseconds, from the last answer.
    pub const SERVER_OFFSET_MS: &str = "server_time_offset_ms";
    /// The server's base URL.
    pub const BASE_URL: &str = "base_url";
    /// The access token.
    pub const ACCESS_TOKEN: &str = "access_token";
    /// Its expiry (server time, RFC 3339).
    pub const ACCESS_EXPIRES_AT: &str = "access_expires_at";
    /// The device-bound refresh token.
    pub const REFRESH_TOKEN: &str = "refresh_token";
    /// Its expiry (server time, RFC 3339).
    pub const REFRESH_EXPIRES_AT: &str = "refresh_expires_at";
    /// The signed-in account, JSON as the server sent it.
    pub const ACCOUNT: &str = "account";
    /// The account signed in last (kept after a sign-out), JSON as the server sent it: what is
    /// captured while signed out belongs to it.
    pub const LAST_ACCOUNT: &str = "last_account";
    /// `1` when the refresh token was refused: the user must sign in again.
    pub const NEEDS_LOGIN: &str = "needs_login";
    /// When a sync last completed (RFC 3339).
    pub const LAST_SUCCESS_AT: &str = "last_success_at";
    /// What the last failed sync said.
    pub const LAST_ERROR: &str = "last_error";
}

/// The phone's database. Not `Sync`: the [`crate::Client`] keeps it behind a mutex and never
/// holds the lock across an await.
pub struct Store {
    conn: Connection,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.conn.path()).finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `path`, mints the device id on
    /// first use, and turns `in_flight` mutations back into `pending`: the app may have died
    /// between sending a batch and recording its answer, and the mutation id makes a resend safe.
    pub fn open(path: &Path) -> Result<Store> {
        let conn = Connection::open(path)?;
        // journal_mode answers with a row, so it is queried rather than executed.
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(mode, "SQLite refused WAL mode");
        }
        // FULL: a mutation the user saw as "queued" survives a power cut, not only an app crash.
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;")?;
        let mut store = Store { conn };
        store.migrate()?;
        store.ensure_device_id()?;
        let recovered = store.recover_in_flight()?;
        if recovered > 0 {
            tracing::info!(recovered, "in-flight mutations returned to pending after a restart");
        }
        Ok(store)
    }

    /// The schema version of the open file.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self.conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    fn migrate(&mut self) -> Result<()> {
        let found = self.schema_version()?;
        let supported = schema::MIGRATIONS.len() as i64;
        if found > supported {
            return Err(Error::SchemaTooNew { found, supported });
        }
        for (index, sql) in schema::MIGRATIONS.iter().enumerate().skip(found as usize) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", index as i64 + 1)?;
            tx.commit()?;
        }
        Ok(())
    }

    fn ensure_device_id(&mut self) -> Result<()> {
        let tx = self.conn.transaction()?;
        if get_meta(&tx, meta::DEVICE_ID)?.is_none() {
            set_meta(&tx, meta::DEVICE_ID, &Uuid::now_v7().to_string())?;
            set_meta(&tx, meta::NEXT_DEVICE_SEQ, "1")?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Makes `installation` this database's device id, when it is not already. The app keeps its
    /// installation id outside this database (in storage the OS never backs up), so a database
    /// restored from a backup onto a reinstalled app is recognised: it takes the new id, and the
    /// tokens bound to the old one are forgotten (the user signs in again). Queued mutations keep
    /// their ids, so whatever the old installation already delivered is answered `duplicate`.
    /// Returns whether the id changed.
    pub fn adopt_installation(&mut self, installation: Uuid) -> Result<bool> {
        if self.device_id()? == installation {
            return Ok(false);
        }
        let id = installation.to_string();
        self.set_meta_many(&[
            (meta::DEVICE_ID, Some(id.as_str())),
            (meta::ACCESS_TOKEN, None),
            (meta::ACCESS_EXPIRES_AT, None),
            (meta::REFRESH_TOKEN, None),
            (meta::REFRESH_EXPIRES_AT, None),
        ])?;
        Ok(true)
    }

    /// This installation's id (minted once, on the first open).
    pub fn device_id(&self) -> Result<Uuid> {
        let text = self.meta(meta::DEVICE_ID)?.ok_or_else(|| Error::Corrupt("no device id".into()))?;
        parse_uuid(&text)
    }

    /// A `sync_meta` value.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        get_meta(&self.conn, key)
    }

    /// Sets (`Some`) or removes (`None`) `sync_meta` values, all in one transaction.
    pub fn set_meta_many(&mut self, values: &[(&str, Option<&str>)]) -> Result<()> {
        let tx = self.conn.transaction()?;
        for (key, value) in values {
            match value {
                Some(value) => set_meta(&tx, key, value)?,
                None => {
                    tx.execute("DELETE FROM sync_meta WHERE key = ?1", [key])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Sets one `sync_meta` value.
    pub fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        self.set_meta_many(&[(key, Some(value))])
    }

    /// The signed-in account (also while it must sign in again), as outbox rows record it.
    pub fn signed_in_account(&self) -> Result<Option<AccountRef>> {
        signed_in_account(&self.conn)
    }

    /// Who owns what is captured now (the signed-in account, else the last one).
    pub fn capturing_account(&self) -> Result<Option<AccountRef>> {
        capturing_account(&self.conn)
    }

    /// Another person signs in on this phone: what was synced for the previous account (its
    /// reports, tickets, followed reports and the cursor) is dropped, so the next sync starts
    /// from a snapshot of the new account's. Reference data stays. Queued items keep their owner.
    pub fn forget_synced_reports(&mut self) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM reports", [])?;
        tx.execute("DELETE FROM sync_meta WHERE key = ?1", [meta::CURSOR])?;
        tx.commit()?;
        Ok(())
    }

    /// The stored cursor, if the phone has ever pulled.
    pub fn cursor(&self) -> Result<Option<smartmap_shared::sync::Cursor>> {
        match self.meta(meta::CURSOR)? {
            None => Ok(None),
            Some(text) => text.parse().map(Some).map_err(|e| Error::Corrupt(format!("stored cursor: {e}"))),
        }
    }
}

pub(crate) fn get_meta(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn.query_row("SELECT value FROM sync_meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
}

/// The account described by stored account JSON: its id (its e-mail if it has none) and e-mail.
fn account_of(raw: Option<String>) -> Result<Option<AccountRef>> {
    let Some(raw) = raw else { return Ok(None) };
    let value: serde_json::Value = serde_json::from_str(&raw)?;
    let text = |key: &str| match value.get(key) {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let email = text("email");
    // Never a reason to refuse a capture: an account without id or e-mail is known by its JSON.
    let id = text("id").or_else(|| email.clone()).unwrap_or(raw);
    Ok(Some(AccountRef { id, email }))
}

pub(crate) fn signed_in_account(conn: &Connection) -> Result<Option<AccountRef>> {
    account_of(get_meta(conn, meta::ACCOUNT)?)
}

/// Who owns what is captured now: the signed-in account, else the one signed in last (a sign-out
/// is no change of person); `None` only before anyone signed in on this phone.
pub(crate) fn capturing_account(conn: &Connection) -> Result<Option<AccountRef>> {
    match signed_in_account(conn)? {
        Some(account) => Ok(Some(account)),
        None => account_of(get_meta(conn, meta::LAST_ACCOUNT)?),
    }
}

pub(crate) fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO sync_meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// Milliseconds since the epoch: time columns are integers, so they compare and sort as numbers.
pub(crate) fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or(DateTime::<Utc>::MIN_UTC)
}

pub(crate) fn parse_uuid(text: &str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(|e| Error::Corrupt(format!("uuid '{text}': {e}")))
}

#[cfg(test)]
mod tests;
