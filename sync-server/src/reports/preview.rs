//! `GET /api/preview`: where a report would go and when it would be due, by the very checks and
//! routing submission uses ([`submit::reportable_category`], [`submit::locate`],
//! [`submit::plan_route`]), so a preview never promises what a submission would not do.

use super::submit;
use crate::error::{ApiError, ApiResult};
use crate::state::Reference;
use chrono::{DateTime, Utc};
use smartmap_shared::preview::Preview;

/// The preview of a report of `category` at (`lat`, `lon`) arriving at `now`. Field errors are
/// those a submission would get (`category`, `location`), all at once.
pub fn preview(reference: &Reference, category: &str, lat: f64, lon: f64, now: DateTime<Utc>) -> ApiResult<Preview> {
    let category = submit::reportable_category(reference, category);
    let located = submit::locate(reference, lat, lon);
    let (category, (_, district)) = match (category, located) {
        (Ok(c), Ok(l)) => (c, l),
        (c, l) => return Err(ApiError::Invalid(c.err().into_iter().chain(l.err()).collect())),
    };
    let plan = submit::plan_route(reference, &category, &district, now);
    let district = reference.districts.get(&district).ok_or(ApiError::NotFound("district"))?;
    let body_name = reference.body(&plan.route.body).map(|b| &b.name);
    Ok(Preview::new(plan, district, body_name, now))
}
