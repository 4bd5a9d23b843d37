//! A promised photo's upload has completed: process it and attach it to its report.

use crate::error::ApiResult;
use crate::reports::photos::intake;
use crate::state::AppState;
use crate::storage::{PhotoKind, PhotoRecord, UserRecord};
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
pub async fn photo_arrived(
    state: &AppState,
    uploader: &UserRecord,
    report: ReportId,
    kind: PhotoKind,
    upload_sha256: &str,
    bytes: Bytes,
) -> ApiResult<PhotoArrival> {
    // Placeholder until promised photos are stored: process and keep the blob only.
    let _ = (uploader, report, upload_sha256);
    let mut photos = intake(state, vec![bytes], kind).await?;
    Ok(PhotoArrival::Staged { photo: photos.remove(0) })
}
