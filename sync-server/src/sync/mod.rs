//! Sync with the offline phone app (issue #3, `docs/sync.md`): push (mutations applied exactly
//! once), pull (the change feed) and snapshot, and what happens when a resumable upload of a
//! promised photo completes.

pub mod photos;
