//! Sync with the offline phone app (issue #3, `docs/sync.md`): push (mutations applied exactly
//! once), pull (the change feed) and snapshot, what happens when a resumable upload of a
//! promised photo completes, and the database's epoch.
//!
//! # Layout
//! - [`push`]: `POST /api/sync/push`, mutation by mutation through the report workflows.
//! - [`feed`]: `GET /api/sync/pull` and `GET /api/sync/snapshot`, built for the viewer.
//! - [`photos`]: [`photos::photo_arrived`], the hand-off from resumable uploads.
//! - [`epoch`]: new epochs, backups and restores (the `smartmap` CLI).
//!
//! The change feed itself is written by database triggers (migration `0004_sync.sql`), in the
//! same transaction as every change it reports.

pub mod epoch;
pub mod feed;
pub mod photos;
pub mod push;
