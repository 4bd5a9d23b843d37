//! The offline client core of Smart Map Tbilisi: what the phone app (the Tauri shell in
//! `src-tauri/`) calls through its commands.
//!
//! Capturing a report, a comment, a follow, a dispute or a ticket closure never needs the
//! network or a valid token: it goes into an outbox in a local SQLite file, with its photos
//! prepared on the phone (metadata stripped, resized — the same pipeline and limits as the
//! server). The sync engine pushes the outbox in capture order, uploads promised photos with tus,
//! and pulls the change feed (`docs/sync.md`). What the user sees is synced state with pending
//! changes laid over it, and previews (district, responsible body, deadline) are computed by the
//! same `smartmap-shared` code the server routes with.
//!
//! # Layout
//! - [`client`]: [`Client`], the whole UI-facing API.
//! - [`views`]: the serde-serializable values the API returns.
//! - `overlay`: pending changes laid over synced state, for the reads.
//! - [`preview`]: district, body and deadline of a draft, offline.
//! - [`store`]: the SQLite database (outbox, photos, synced state, `sync_meta`).
//! - [`sync`]: the sync engine (tokens, push, tus uploads, pull, snapshot) and its HTTP calls.
//! - [`backoff`]: exponential backoff with full jitter.
//! - [`error`]: the error type, [`Error`].

pub mod backoff;
pub mod client;
pub mod error;
mod overlay;
pub mod preview;
pub mod store;
pub mod sync;
pub mod views;

pub use client::{Client, Config};
pub use error::{Error, Result};
pub use views::*;

use chrono::{DateTime, Utc};

/// Where "now" comes from: the phone's wall clock in the app, a fixed or moved one in tests.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
