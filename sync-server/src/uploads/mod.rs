//! Resumable photo uploads (tus 1.0: core, creation, checksum, expiration), kept on disk until
//! complete, then handed to [`crate::sync::photos::photo_arrived`].
//!
//! # On disk (`settings.uploads_dir()`)
//! - `<id>.part` — the bytes received so far. Each chunk is appended and fsynced before the
//!   answer, and **the offset is the file's length**: there is no separate counter that could
//!   disagree with the bytes after a crash. A chunk with `Upload-Checksum` that does not match
//!   (or is cut) is truncated away again; a cut chunk without a checksum keeps what arrived.
//! - `<id>.json` — the sidecar: owner, length, metadata, creation and expiry, and completion
//!   time (written atomically: temporary file, fsync, rename).
//! - `done/<key>` — the id of a completed upload, by owner × report × sha256, so a client that
//!   creates the same upload again gets the completed one (offset = length) and skips it.
//!
//! Everything lives in files, so an upload survives a restart and any replica sharing the folder
//! can continue it. Expiry is by the injected clock; [`sweep_expired`] removes expired uploads.

pub mod headers;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::{PhotoKind, UserRecord};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use headers::{Checksum, PhotoUploadMetadata};
use serde::{Deserialize, Serialize};
use smartmap_shared::ids::{ReportId, UserId};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};
use tokio::io::AsyncWriteExt;

/// An upload as its sidecar stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Upload {
    /// 32 hex digits.
    pub id: String,
    /// Who created it (only they see it).
    pub owner: UserId,
    /// `Upload-Length`.
    pub length: u64,
    /// Hex sha256 of the whole file (from the metadata; verified at the end).
    pub sha256: String,
    /// The report the photo belongs to.
    pub report: ReportId,
    /// `report` or `proof`.
    pub kind: String,
    /// Original file name, if sent.
    pub filename: Option<String>,
    /// `Upload-Metadata` as sent, echoed by HEAD.
    pub raw_metadata: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// When it is discarded if unfinished (and forgotten if finished).
    pub expires_at: DateTime<Utc>,
    /// When the last byte arrived and the photo was handed over.
    pub completed_at: Option<DateTime<Utc>>,
}

impl Upload {
    /// The photo kind of the metadata.
    pub fn photo_kind(&self) -> PhotoKind {
        if self.kind == "proof" { PhotoKind::Proof } else { PhotoKind::Report }
    }
}

/// An upload and how many of its bytes the server holds.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadStatus {
    /// The upload.
    pub upload: Upload,
    /// `Upload-Offset`: bytes stored (= length once complete).
    pub offset: u64,
}

fn dir(state: &AppState) -> PathBuf {
    state.settings.uploads_dir()
}

fn part_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.part"))
}

fn sidecar_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.json"))
}

fn done_path(dir: &Path, owner: UserId, report: ReportId, sha256: &str) -> PathBuf {
    let key = smartmap_shared::sync::sha256_hex(format!("{owner}|{report}|{sha256}").as_bytes());
    dir.join("done").join(key)
}

fn valid_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

fn io(e: std::io::Error) -> ApiError {
    ApiError::Internal(e.into())
}

async fn sync_dir(dir: &Path) -> std::io::Result<()> {
    tokio::fs::File::open(dir).await?.sync_all().await
}

/// Writes a file whole: temporary sibling, fsync, rename, fsync of the folder.
async fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("upload paths have a parent");
    let tmp = dir.join(format!(".{}.tmp", uuid::Uuid::new_v4().simple()));
    let mut file = tokio::fs::File::create(&tmp).await?;
    file.write_all(bytes).await?;
    file.sync_all().await?;
    drop(file);
    tokio::fs::rename(&tmp, path).await?;
    sync_dir(dir).await
}

async fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match tokio::fs::remove_file(path).await {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

async fn read_sidecar(dir: &Path, id: &str) -> ApiResult<Option<Upload>> {
    match tokio::fs::read(sidecar_path(dir, id)).await {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| ApiError::Internal(e.into())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(e)),
    }
}

async fn write_sidecar(dir: &Path, upload: &Upload) -> ApiResult<()> {
    let bytes = serde_json::to_vec_pretty(upload).map_err(|e| ApiError::Internal(e.into()))?;
    write_atomically(&sidecar_path(dir, &upload.id), &bytes).await.map_err(io)
}

/// Removes an upload's files (its completion marker too).
async fn discard(dir: &Path, upload: &Upload) -> std::io::Result<()> {
    remove_if_present(&part_path(dir, &upload.id)).await?;
    remove_if_present(&sidecar_path(dir, &upload.id)).await?;
    let done = done_path(dir, upload.owner, upload.report, &upload.sha256);
    if tokio::fs::read_to_string(&done).await.is_ok_and(|id| id == upload.id) {
        remove_if_present(&done).await?;
    }
    Ok(())
}

async fn offset_of(dir: &Path, upload: &Upload) -> ApiResult<u64> {
    if upload.completed_at.is_some() {
        return Ok(upload.length);
    }
    match tokio::fs::metadata(part_path(dir, &upload.id)).await {
        Ok(m) => Ok(m.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(io(e)),
    }
}

/// One PATCH at a time per upload (per process; several replicas on one folder would need a
/// file lock). Entries are dropped when nobody holds them.
static LOCKS: LazyLock<Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>> = LazyLock::new(Default::default);

struct UploadLock {
    key: PathBuf,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

async fn lock(path: PathBuf) -> UploadLock {
    let mutex = LOCKS.lock().expect("upload locks").entry(path.clone()).or_default().clone();
    let guard = mutex.lock_owned().await;
    UploadLock { key: path, guard: Some(guard) }
}

impl Drop for UploadLock {
    fn drop(&mut self) {
        let mut locks = LOCKS.lock().expect("upload locks");
        drop(self.guard.take());
        if locks.get(&self.key).is_some_and(|m| Arc::strong_count(m) == 1) {
            locks.remove(&self.key);
        }
    }
}

/// Creates an upload of `length` bytes for `owner`. If `owner` already completed an upload of
/// this file for this report (and it has not expired), that one is answered instead.
#[tracing::instrument(skip_all, fields(user = %owner.id, length), err(Debug))]
pub async fn create(
    state: &AppState,
    owner: &UserRecord,
    length: u64,
    metadata: PhotoUploadMetadata,
    raw_metadata: &str,
) -> ApiResult<UploadStatus> {
    let max = state.settings.max_photo_bytes as u64;
    if length > max {
        return Err(ApiError::TooLarge {
            field: "Upload-Length".into(),
            message: format!("a photo upload may be at most {max} bytes (Tus-Max-Size)"),
        });
    }
    if length == 0 {
        return Err(ApiError::header("Upload-Length", "empty", "an upload has at least one byte"));
    }
    let dir = dir(state);
    tokio::fs::create_dir_all(dir.join("done")).await.map_err(io)?;
    let now = state.clock.now();
    let done = done_path(&dir, owner.id, metadata.report, &metadata.sha256);
    if let Ok(id) = tokio::fs::read_to_string(&done).await
        && valid_id(&id)
        && let Some(upload) = read_sidecar(&dir, &id).await?
        && upload.completed_at.is_some()
        && upload.expires_at > now
        && upload.length == length
        && photo_is_attached(state, &upload).await?
    {
        return Ok(UploadStatus { offset: upload.length, upload });
    }
    let upload = Upload {
        id: uuid::Uuid::new_v4().simple().to_string(),
        owner: owner.id,
        length,
        sha256: metadata.sha256,
        report: metadata.report,
        kind: metadata.kind,
        filename: metadata.filename,
        raw_metadata: raw_metadata.to_owned(),
        created_at: now,
        expires_at: now + chrono::Duration::hours(state.settings.upload_expiry_hours),
        completed_at: None,
    };
    let part = tokio::fs::File::create(part_path(&dir, &upload.id)).await.map_err(io)?;
    part.sync_all().await.map_err(io)?;
    write_sidecar(&dir, &upload).await?;
    Ok(UploadStatus { upload, offset: 0 })
}

/// The caller's upload `id` and its offset: 404 for an unknown id or someone else's upload,
/// 410 once expired.
pub async fn status(state: &AppState, owner: &UserRecord, id: &str) -> ApiResult<UploadStatus> {
    let dir = dir(state);
    let upload = match valid_id(id) {
        true => read_sidecar(&dir, id).await?,
        false => None,
    };
    let upload = upload.filter(|u| u.owner == owner.id).ok_or(ApiError::NotFound("upload"))?;
    if upload.expires_at <= state.clock.now() {
        return Err(ApiError::Gone("upload"));
    }
    let offset = offset_of(&dir, &upload).await?;
    if offset == upload.length && upload.completed_at.is_none() {
        // Every byte arrived but the server stopped before the photo was attached (a crash, a
        // restart): finish now, so "complete" is never reported for a photo that is not there.
        let _lock = lock(part_path(&dir, id)).await;
        if let Some(fresh) = read_sidecar(&dir, id).await?
            && fresh.completed_at.is_none()
        {
            return complete(state, owner, fresh).await;
        }
    }
    Ok(UploadStatus { upload, offset })
}

/// Whether the photo a completed upload delivered is still in the database (attached, or staged
/// for a report whose mutation has not arrived): a database restored from an older backup may
/// have lost it while the upload folder kept its completion marker.
async fn photo_is_attached(state: &AppState, upload: &Upload) -> ApiResult<bool> {
    Ok(state.storage.photo_received(upload.report, &upload.sha256).await?)
}

/// Appends a chunk at `offset` (which must be the stored offset: 409 otherwise). With a
/// `checksum`, a chunk that does not match is discarded (460). When the last byte is stored the
/// whole file is verified and handed to the photo pipeline (see [`complete`]).
#[tracing::instrument(skip_all, fields(user = %owner.id, upload = id, offset), err(Debug))]
pub async fn append<S, E>(
    state: &AppState,
    owner: &UserRecord,
    id: &str,
    offset: u64,
    checksum: Option<Checksum>,
    declared_length: Option<u64>,
    mut body: S,
) -> ApiResult<UploadStatus>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let dir = dir(state);
    let _lock = lock(part_path(&dir, id)).await;
    let current = status(state, owner, id).await?;
    if current.offset != offset {
        return Err(ApiError::Conflict {
            code: "offset_mismatch",
            message: format!(
                "the upload is at offset {}, not {offset}; ask with HEAD and resume there",
                current.offset
            ),
        });
    }
    let remaining = current.upload.length - current.offset;
    if declared_length.is_some_and(|n| n > remaining) {
        return Err(ApiError::TooLarge {
            field: "body".into(),
            message: format!("only {remaining} bytes of this upload remain"),
        });
    }
    if current.upload.completed_at.is_some() {
        return Ok(current);
    }
    let path = part_path(&dir, id);
    let mut file = tokio::fs::OpenOptions::new().append(true).open(&path).await.map_err(io)?;
    let mut hasher = checksum.as_ref().map(Checksum::hasher);
    let mut received: u64 = 0;
    let mut failure = None;
    while let Some(frame) = body.next().await {
        match frame {
            Ok(bytes) => {
                received += bytes.len() as u64;
                if received > remaining {
                    failure = Some(ApiError::TooLarge {
                        field: "body".into(),
                        message: format!("only {remaining} bytes of this upload remain"),
                    });
                    break;
                }
                if let Some(h) = hasher.as_mut() {
                    h.update(&bytes);
                }
                file.write_all(&bytes).await.map_err(io)?;
            }
            Err(e) => {
                // The client went away mid-chunk: what arrived stays (unless it cannot be checked).
                tracing::info!(error = %e, received, "upload chunk cut");
                failure = Some(ApiError::Malformed(format!("the chunk was cut after {received} bytes")));
                break;
            }
        }
    }
    file.flush().await.map_err(io)?;
    let keep = match (&failure, checksum) {
        (Some(ApiError::TooLarge { .. }), _) => Err(None),
        (Some(_), Some(_)) => Err(None),
        (None, Some(checksum)) if !checksum.matches(hasher.expect("a hasher with a checksum")) => Err(Some(
            ApiError::ChecksumMismatch("the chunk does not match its Upload-Checksum; it was discarded".into()),
        )),
        _ => Ok(()),
    };
    if let Err(replacement) = keep {
        file.set_len(offset).await.map_err(io)?;
        file.sync_all().await.map_err(io)?;
        return Err(replacement.or(failure).expect("a reason to discard the chunk"));
    }
    file.sync_all().await.map_err(io)?;
    drop(file);
    if let Some(failure) = failure {
        return Err(failure);
    }
    let offset = offset_of(&dir, &current.upload).await?;
    if offset < current.upload.length {
        return Ok(UploadStatus { upload: current.upload, offset });
    }
    complete(state, owner, current.upload).await
}

/// The last byte is stored: verifies the whole file's sha256 against the metadata (a mismatch
/// discards the upload, so the client starts over), hands it to
/// [`crate::sync::photos::photo_arrived`] (a refusal there discards it too and is the answer),
/// then marks the upload complete and drops its bytes.
async fn complete(state: &AppState, owner: &UserRecord, mut upload: Upload) -> ApiResult<UploadStatus> {
    let dir = dir(state);
    let bytes = Bytes::from(tokio::fs::read(part_path(&dir, &upload.id)).await.map_err(io)?);
    let actual = smartmap_shared::sync::sha256_hex(&bytes);
    if actual != upload.sha256 {
        discard(&dir, &upload).await.map_err(io)?;
        return Err(ApiError::ChecksumMismatch(format!(
            "the file's sha256 is {actual}, not the {} its metadata announced; the upload was discarded, start over",
            upload.sha256
        )));
    }
    let kind = upload.photo_kind();
    if let Err(e) = crate::sync::photos::photo_arrived(state, owner, upload.report, kind, &upload.sha256, bytes).await {
        if !matches!(e, ApiError::Internal(_)) {
            discard(&dir, &upload).await.map_err(io)?;
        }
        return Err(e);
    }
    upload.completed_at = Some(state.clock.now());
    write_sidecar(&dir, &upload).await?;
    write_atomically(&done_path(&dir, upload.owner, upload.report, &upload.sha256), upload.id.as_bytes())
        .await
        .map_err(io)?;
    remove_if_present(&part_path(&dir, &upload.id)).await.map_err(io)?;
    Ok(UploadStatus { offset: upload.length, upload })
}

/// tus termination: the owner discards their upload.
pub async fn terminate(state: &AppState, owner: &UserRecord, id: &str) -> ApiResult<()> {
    let dir = dir(state);
    let _lock = lock(part_path(&dir, id)).await;
    let upload = match valid_id(id) {
        true => read_sidecar(&dir, id).await?,
        false => None,
    };
    let upload = upload.filter(|u| u.owner == owner.id).ok_or(ApiError::NotFound("upload"))?;
    discard(&dir, &upload).await.map_err(io)
}

/// Removes every upload past its expiry (unfinished bytes, sidecars, completion markers).
/// Returns how many. Run by the background job loop, or by tests.
#[tracing::instrument(skip_all, err(Debug))]
pub async fn sweep_expired(state: &AppState) -> std::io::Result<usize> {
    let dir = dir(state);
    let now = state.clock.now();
    let mut entries = match tokio::fs::read_dir(&dir).await {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut swept = 0;
    while let Some(entry) = entries.next_entry().await? {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(id) = name.strip_suffix(".json").filter(|id| valid_id(id)) else { continue };
        let Ok(Some(upload)) = read_sidecar(&dir, id).await else { continue };
        if upload.expires_at <= now {
            let _lock = lock(part_path(&dir, id)).await;
            discard(&dir, &upload).await?;
            swept += 1;
        }
    }
    Ok(swept)
}
