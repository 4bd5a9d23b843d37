//! The staff queue's rules, shared by the queue, its CSV export and the dashboard: which reports
//! a staff account sees (district staff their district, department staff their department,
//! moderators and admins everything), the filters the queue takes, and a queue item as staff see
//! it.

use super::views;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, Reference};
use crate::storage::{OPEN_STATUSES, ReportQuery, ReportRecord, UserRecord};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use smartmap_shared::ids::{CategoryId, UserId};
use smartmap_shared::report::ReportStatus;
use smartmap_shared::role::Role;
use std::collections::HashMap;

/// A query over the reports `user` works on: their district or department, or everything for
/// moderators and admins. 403 for anyone else.
pub fn scoped_query(user: &UserRecord) -> ApiResult<ReportQuery> {
    let mut q = ReportQuery::default();
    match user.role {
        Role::DistrictStaff => q.district = user.district.clone(),
        Role::DepartmentStaff => q.body = user.body.clone(),
        Role::Moderator | Role::Admin => {}
        _ => return Err(ApiError::Forbidden("staff only".into())),
    }
    // A scoped role without its scope set sees nothing rather than everything.
    if matches!(user.role, Role::DistrictStaff if q.district.is_none())
        || matches!(user.role, Role::DepartmentStaff if q.body.is_none())
    {
        return Err(ApiError::Forbidden("this account has no district or department".into()));
    }
    Ok(q)
}

/// The queue's filters as sent: `status` (`open` by default, `all`, or a comma-separated list),
/// `category` (a slug), `overdue` (only reports flagged overdue).
#[derive(Debug, Clone, Copy, Default)]
pub struct QueueFilters<'a> {
    /// `open`, `all`, or comma-separated statuses.
    pub status: Option<&'a str>,
    /// A category slug.
    pub category: Option<&'a str>,
    /// Only reports flagged overdue.
    pub overdue: Option<bool>,
}

impl QueueFilters<'_> {
    /// Narrows `q` by the filters; errors name the parameter.
    pub fn apply(&self, q: &mut ReportQuery) -> ApiResult<()> {
        q.statuses = match self.status {
            None | Some("") | Some("open") => OPEN_STATUSES.to_vec(),
            Some("all") => Vec::new(),
            Some(list) => list
                .split(',')
                .map(|s| {
                    ReportStatus::parse(s.trim())
                        .ok_or_else(|| ApiError::field("status", "unknown_status", format!("there is no status '{s}'")))
                })
                .collect::<ApiResult<_>>()?,
        };
        if let Some(c) = self.category.filter(|c| !c.is_empty()) {
            let id = CategoryId::parse(c)
                .map_err(|_| ApiError::field("category", "unknown_category", format!("there is no category '{c}'")))?;
            q.categories.push(id);
        }
        q.overdue_only = self.overdue.unwrap_or(false);
        q.order_by_deadline = true;
        Ok(())
    }
}

/// Display names of field crews by account id, for queue items and exports.
pub async fn crew_names(state: &AppState) -> ApiResult<HashMap<UserId, String>> {
    Ok(state.storage.crews(None).await?.into_iter().map(|c| (c.id, c.display_name)).collect())
}

/// A queue item: the public summary plus the assigned crew (`crew` id, `crew_name`) and
/// `seconds_to_deadline` (negative once past).
pub fn queue_item(
    r: &ReportRecord,
    reference: &Reference,
    crews: &HashMap<UserId, String>,
    now: DateTime<Utc>,
) -> Value {
    let mut v = views::public_summary(r, reference);
    v["crew"] = json!(r.crew);
    v["crew_name"] = json!(r.crew.and_then(|c| crews.get(&c)));
    v["hidden"] = json!(r.hidden);
    v["seconds_to_deadline"] = json!(r.deadline.map(|d| (d - now).num_seconds()));
    v
}
