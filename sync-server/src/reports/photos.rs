//! Photo intake: every uploaded photo goes through the shared pipeline (limits, orientation,
//! metadata stripped, resized, re-encoded) before it is stored, whatever the client did.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::{PhotoKind, PhotoRecord};
use bytes::Bytes;
use smartmap_shared::photo::{PhotoError, PhotoLimits, prepare_photo};

/// Processes and stores `uploads`; a bad photo is refused with its index (`photos[2]`), and
/// nothing is stored in the database until the caller's transaction.
pub async fn intake(state: &AppState, uploads: Vec<Bytes>, kind: PhotoKind) -> ApiResult<Vec<PhotoRecord>> {
    if uploads.len() > state.settings.max_photos {
        return Err(ApiError::field(
            "photos",
            "too_many_photos",
            format!("at most {} photos may be attached", state.settings.max_photos),
        ));
    }
    let limits = PhotoLimits { max_bytes: state.settings.max_photo_bytes, ..PhotoLimits::default() };
    // Every photo passes the pipeline before any is stored: a bad third photo leaves no blob of
    // the first two behind.
    let mut prepared = Vec::with_capacity(uploads.len());
    for (i, bytes) in uploads.into_iter().enumerate() {
        let field = format!("photos[{i}]");
        let photo = tokio::task::spawn_blocking(move || prepare_photo(&bytes, &limits))
            .await
            .map_err(|e| ApiError::Internal(e.into()))?
            .map_err(|e| photo_error(&field, e))?;
        prepared.push(photo);
    }
    let mut records = Vec::with_capacity(prepared.len());
    for photo in prepared {
        let sha256 = state.blobs.put(&photo.full, &photo.thumb).await.map_err(|e| ApiError::Internal(e.into()))?;
        records.push(PhotoRecord {
            kind,
            sha256,
            width: photo.width,
            height: photo.height,
            created_at: state.clock.now(),
        });
    }
    Ok(records)
}

fn photo_error(field: &str, e: PhotoError) -> ApiError {
    let message = e.to_string();
    match e {
        PhotoError::TooLarge { .. } => ApiError::TooLarge { field: field.to_owned(), message },
        PhotoError::NotAnImage => ApiError::field(field, "not_an_image", message),
        PhotoError::TooManyPixels { .. } | PhotoError::DimensionTooLarge { .. } => {
            ApiError::field(field, "too_many_pixels", message)
        }
        PhotoError::Corrupt(_) => ApiError::field(field, "corrupt_image", message),
    }
}
