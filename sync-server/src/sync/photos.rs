//! A promised photo's upload has completed: process it and attach it to its report.

use crate::error::{ApiError, ApiResult};
use crate::reports::photos::intake;
use crate::state::AppState;
use crate::storage::{AttachOutcome, PhotoKind, PhotoRecord, StagedPhotoRecord, UserRecord};
use bytes::Bytes;
use smartmap_shared::ids::ReportId;

/// What became of a completed upload.
#[derive(Debug, Clone, PartialEq)]
pub enum PhotoArrival {
    /// Attached to the report that promised it; `still_pending` photos of the report are still
    /// awaited.
    Attached {
        /// The processed photo as stored.
        photo: PhotoRecord,
        /// How many promised photos of the report have not arrived yet.
        still_pending: usize,
    },
    /// No mutation has promised it yet: kept, and claimed when the mutation arrives.
    Staged {
        /// The processed photo as stored.
        photo: PhotoRecord,
    },
    /// The same photo had already arrived (a repeated upload): nothing changed.
    AlreadyAttached,
}

/// Processes the whole file of a completed upload (`upload_sha256` already verified by the
/// caller) through the photo pipeline and attaches it to `report` as `kind`, on behalf of
/// `uploader`.
///
/// The uploader must be the report's reporter (report photos) or its assigned crew (proof). The
/// photo is attached, with the report's version bump, in one transaction to the promised photo
/// of the same kind and upload sha256; if no mutation promised it yet (the upload beat its
/// mutation), it is staged and claimed when the mutation lands. Repeating an upload changes
/// nothing.
#[tracing::instrument(skip_all, fields(report = %report, kind = kind.as_str(), uploader = %uploader.id), err(Debug))]
pub async fn photo_arrived(
    state: &AppState,
    uploader: &UserRecord,
    report: ReportId,
    kind: PhotoKind,
    upload_sha256: &str,
    bytes: Bytes,
) -> ApiResult<PhotoArrival> {
    let stored = state.storage.report(report).await?;
    match (&stored, kind) {
        (Some(r), PhotoKind::Report) if r.reporter != uploader.id => {
            return Err(ApiError::Forbidden("only the reporter adds photos to a report".into()));
        }
        (Some(r), PhotoKind::Proof) if r.crew != Some(uploader.id) => {
            return Err(ApiError::Forbidden("only the crew assigned to the ticket adds proof photos".into()));
        }
        // Proof is only ever promised for a report that exists (its ticket).
        (None, PhotoKind::Proof) => return Err(ApiError::NotFound("report")),
        _ => {}
    }
    // The blob is written before any row points at it (an orphan blob is harmless).
    let mut photos = intake(state, vec![bytes], kind).await?;
    let photo = photos.remove(0);
    if stored.is_some() {
        match state.storage.attach_expected_photo(report, upload_sha256, &photo).await? {
            AttachOutcome::Attached { still_pending } => return Ok(PhotoArrival::Attached { photo, still_pending }),
            AttachOutcome::AlreadyAttached => return Ok(PhotoArrival::AlreadyAttached),
            AttachOutcome::NotExpected => {}
        }
    }
    let staged = StagedPhotoRecord {
        report,
        upload_sha256: upload_sha256.to_owned(),
        uploader: uploader.id,
        photo: photo.clone(),
    };
    let fresh = state.storage.stage_photo(&staged).await?;
    // The mutation may have landed between the attach attempt and the staging: claim now, so
    // whichever of the two commits last attaches the photo.
    if state.storage.report(report).await?.is_some()
        && state.storage.claim_staged_photos(report, kind, uploader.id).await? > 0
    {
        let pending = state.storage.expected_photos_of_reports(&[report]).await?;
        let still_pending = pending.iter().filter(|(_, e)| e.photo_sha256.is_none()).count();
        return Ok(PhotoArrival::Attached { photo, still_pending });
    }
    Ok(if fresh { PhotoArrival::Staged { photo } } else { PhotoArrival::AlreadyAttached })
}
