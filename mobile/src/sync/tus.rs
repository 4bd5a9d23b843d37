//! Uploading promised photos with tus 1.0 (core, creation, checksum).
//!
//! Up to three photos at a time; each: create the upload once (its URL is stored), then PATCH chunks of the configured
//! size, each with `Upload-Checksum: sha256 …`, recording the server's offset after every chunk.
//! A photo with a stored upload starts with HEAD, so after an interruption only the tail the
//! server has not acknowledged is sent again. 404/410 (expired, or lost in a restore) → a new
//! upload; 460 (checksum mismatch) → the same chunk again; 409 → HEAD and continue.

use super::http::UploadAnswer;
use crate::client::Inner;
use crate::error::{Error, Result};
use crate::store::PhotoUpload;
use crate::views::{SyncPhase, SyncSummary};
use futures::StreamExt;
use std::sync::atomic::{AtomicU64, Ordering};

/// How many photos upload at once.
const UPLOAD_LANES: usize = 3;

/// Upload progress shared by the photos uploading at once.
struct Progress {
    bytes_sent: AtomicU64,
    items_done: AtomicU64,
}

/// How often one chunk may fail its checksum, or one photo lose its upload, before this sync
/// gives up on it (the next sync tries again).
const MAX_REPEATS: u32 = 3;

impl Inner {
    pub(super) async fn upload_photos(&self, summary: &mut SyncSummary) -> Result<()> {
        let photos = self.store(|s| s.photos_to_upload())?;
        let total_items = photos.len() as u64;
        let bytes_total: u64 = photos.iter().map(|p| (p.size - p.upload_offset).max(0) as u64).sum();
        let progress = Progress { bytes_sent: AtomicU64::new(0), items_done: AtomicU64::new(0) };
        // A few photos at a time: each upload waits on round trips and on the server's photo
        // pipeline, so overlapping them keeps both the line and the server busy.
        let mut uploads = futures::stream::iter(photos)
            .map(|photo| {
                let progress = &progress;
                async move {
                    let outcome = self.upload_one(&photo, progress, total_items, bytes_total).await;
                    (photo, outcome)
                }
            })
            .buffer_unordered(UPLOAD_LANES);
        while let Some((photo, outcome)) = uploads.next().await {
            match outcome {
                Ok(()) => {
                    self.store(|s| s.mark_uploaded(photo.id))?;
                    summary.photos_uploaded += 1;
                }
                // The network, the server's load or the session: stop, back off, resume later
                // (uploads still running are dropped; the server's offsets say where to resume).
                Err(e)
                    if e.is_transient() || matches!(e, Error::NeedsLogin | Error::AccountChanged | Error::Store(_)) =>
                {
                    return Err(e);
                }
                // A refusal of this one photo (e.g. 413, 400) must not hold up the others or the
                // pull; it is tried again at the next sync and its report shows "photos pending".
                Err(e) => tracing::warn!(photo = photo.id, error = %e, "photo upload refused; moving on"),
            }
            let done = progress.items_done.fetch_add(1, Ordering::Relaxed) + 1;
            self.emit(SyncPhase::Upload, done, total_items, progress.bytes_sent.load(Ordering::Relaxed), bytes_total);
        }
        Ok(())
    }

    async fn upload_one(
        &self,
        photo: &PhotoUpload,
        progress: &Progress,
        total_items: u64,
        bytes_total: u64,
    ) -> Result<()> {
        let bytes = self
            .store(|s| s.photo_jpeg(photo.id))?
            .ok_or_else(|| Error::Corrupt(format!("photo {} has no bytes", photo.id)))?;
        let size = bytes.len() as u64;
        let chunk_size = self.config.upload_chunk_size.max(1);
        let mut url = photo.upload_url.clone();
        // Under its mutation's account only.
        let owner = photo.account_id.as_deref();
        let mut lost_uploads = 0;
        let mut mismatches = 0;
        // Where to send from: the server's word, never only our record.
        let mut offset: Option<u64> = None;
        loop {
            let current = match &url {
                Some(u) => u.clone(),
                None => {
                    let created = self
                        .authed_as(owner, |token| async move {
                            self.api.create_upload(&token, size, &photo.sha256, &photo.report_id, &photo.kind).await
                        })
                        .await?;
                    self.store(|s| s.set_upload_url(photo.id, &created))?;
                    url = Some(created.clone());
                    offset = Some(0);
                    created
                }
            };
            let at = match offset {
                Some(at) => at,
                None => {
                    let answer = self.authed_as(owner, |token| {
                        let current = current.clone();
                        async move { self.api.upload_offset(&token, &current).await }
                    });
                    match answer.await? {
                        UploadAnswer::Offset(at) => {
                            self.store(|s| s.set_upload_offset(photo.id, at as i64))?;
                            offset = Some(at);
                            continue;
                        }
                        UploadAnswer::Gone => {
                            lost_uploads += 1;
                            if lost_uploads > MAX_REPEATS {
                                return Err(Error::Corrupt("the server keeps losing this photo's upload".into()));
                            }
                            self.store(|s| s.reset_upload(photo.id))?;
                            url = None;
                            continue;
                        }
                        other => return Err(Error::Corrupt(format!("unexpected answer to HEAD: {other:?}"))),
                    }
                }
            };
            if at >= size {
                return Ok(());
            }
            let end = (at as usize + chunk_size).min(bytes.len());
            let chunk = &bytes[at as usize..end];
            let answer = self
                .authed_as(owner, |token| {
                    let current = current.clone();
                    async move { self.api.upload_chunk(&token, &current, at, chunk).await }
                })
                .await?;
            match answer {
                UploadAnswer::Offset(next) => {
                    self.store(|s| s.set_upload_offset(photo.id, next as i64))?;
                    let sent = progress.bytes_sent.fetch_add(next.saturating_sub(at), Ordering::Relaxed)
                        + next.saturating_sub(at);
                    let done = progress.items_done.load(Ordering::Relaxed);
                    self.emit(SyncPhase::Upload, done, total_items, sent, bytes_total);
                    mismatches = 0;
                    offset = Some(next);
                }
                UploadAnswer::ChecksumMismatch => {
                    mismatches += 1;
                    if mismatches > MAX_REPEATS {
                        return Err(Error::Corrupt("a chunk keeps failing its checksum".into()));
                    }
                }
                UploadAnswer::OffsetConflict => offset = None,
                UploadAnswer::Gone => {
                    lost_uploads += 1;
                    if lost_uploads > MAX_REPEATS {
                        return Err(Error::Corrupt("the server keeps losing this photo's upload".into()));
                    }
                    self.store(|s| s.reset_upload(photo.id))?;
                    url = None;
                    offset = None;
                }
            }
        }
    }
}
