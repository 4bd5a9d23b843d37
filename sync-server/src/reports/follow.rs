//! Following a report from the browser: the same `follows` rows a phone's `follow` mutation
//! writes (through [`SyncStorage`](crate::storage::SyncStorage)), so a resident's phone and
//! browser agree on what they follow, and a followed report reaches the phone's change feed.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::UserRecord;
use smartmap_shared::ids::ReportId;

/// Follows (`true`) or stops following (`false`) a report; doing it twice is doing it once. An
/// unknown or hidden report is a 404, as it is to a phone.
pub async fn set_following(state: &AppState, user: &UserRecord, id: ReportId, follow: bool) -> ApiResult<()> {
    let report = state.storage.report(id).await?;
    if report.is_none_or(|r| r.hidden) {
        return Err(ApiError::NotFound("report"));
    }
    state.storage.set_follow(user.id, id, follow, state.clock.now(), None).await?;
    Ok(())
}

/// Whether `user` follows the report.
pub async fn is_following(state: &AppState, user: &UserRecord, id: ReportId) -> ApiResult<bool> {
    Ok(state.storage.followed_reports(user.id).await?.contains(&id))
}
