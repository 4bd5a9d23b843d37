//! Public statistics per body and category: how many reports, how many closed on time, and the
//! median time to fix. Computed from one row per routed report.

use crate::storage::StatsRow;
use chrono::{DateTime, Utc};
use serde::Serialize;
use smartmap_shared::ids::{BodyId, CategoryId};
use smartmap_shared::report::ReportStatus;
use std::collections::BTreeMap;

/// Statistics of one body in one category.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BodyCategoryStats {
    /// The body.
    pub body: BodyId,
    /// The category.
    pub category: CategoryId,
    /// Reports routed to the body (currently).
    pub total: u64,
    /// Still open.
    pub open: u64,
    /// Open and past the deadline.
    pub open_overdue: u64,
    /// Closed (fixed, duplicate or no action).
    pub closed: u64,
    /// Closed no later than the deadline.
    pub closed_on_time: u64,
    /// `closed_on_time / closed`; `None` before anything closed.
    pub on_time_rate: Option<f64>,
    /// Fixed reports.
    pub fixed: u64,
    /// Median hours from submission to a fixed closure; `None` before anything was fixed.
    pub median_hours_to_fix: Option<f64>,
}

/// Groups rows by (body, category) and computes each group's figures as of `now`.
pub fn compute(rows: &[StatsRow], now: DateTime<Utc>) -> Vec<BodyCategoryStats> {
    let mut groups: BTreeMap<(BodyId, CategoryId), Vec<&StatsRow>> = BTreeMap::new();
    for row in rows {
        groups.entry((row.body.clone(), row.category.clone())).or_default().push(row);
    }
    groups
        .into_iter()
        .map(|((body, category), rows)| {
            let closed: Vec<_> = rows.iter().filter(|r| r.status.is_closed()).collect();
            let on_time =
                closed.iter().filter(|r| matches!((r.closed_at, r.deadline), (Some(c), Some(d)) if c <= d)).count()
                    as u64;
            let open: Vec<_> =
                rows.iter().filter(|r| !r.status.is_closed() && r.status != ReportStatus::Submitted).collect();
            let open_overdue = open.iter().filter(|r| r.deadline.is_some_and(|d| d < now)).count() as u64;
            let mut hours: Vec<f64> = rows
                .iter()
                .filter(|r| r.status == ReportStatus::Fixed)
                .filter_map(|r| r.closed_at.map(|c| (c - r.created_at).num_seconds() as f64 / 3600.0))
                .collect();
            hours.sort_by(f64::total_cmp);
            BodyCategoryStats {
                body,
                category,
                total: rows.len() as u64,
                open: open.len() as u64,
                open_overdue,
                closed: closed.len() as u64,
                closed_on_time: on_time,
                on_time_rate: (!closed.is_empty()).then(|| on_time as f64 / closed.len() as f64),
                fixed: hours.len() as u64,
                median_hours_to_fix: median(&hours),
            }
        })
        .collect()
}

fn median(sorted: &[f64]) -> Option<f64> {
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[n / 2]),
        n => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn row(status: ReportStatus, hours_to_close: Option<i64>, deadline_hours: i64) -> StatsRow {
        let created = Utc.with_ymd_and_hms(2026, 5, 4, 8, 0, 0).unwrap();
        StatsRow {
            body: BodyId::parse("tbilservice").unwrap(),
            category: CategoryId::parse("cleaning").unwrap(),
            status,
            created_at: created,
            deadline: Some(created + Duration::hours(deadline_hours)),
            closed_at: hours_to_close.map(|h| created + Duration::hours(h)),
        }
    }

    #[test]
    fn on_time_rate_and_median_time_to_fix() {
        use ReportStatus::*;
        let rows = vec![
            row(Fixed, Some(10), 24),    // on time
            row(Fixed, Some(30), 24),    // late
            row(Fixed, Some(20), 24),    // on time
            row(NoAction, Some(5), 24),  // on time, not a fix
            row(Routed, None, 24),       // open, overdue at `now`
            row(InProgress, None, 1000), // open, not overdue
        ];
        let now = Utc.with_ymd_and_hms(2026, 5, 10, 0, 0, 0).unwrap();
        let stats = compute(&rows, now);
        assert_eq!(stats.len(), 1);
        let s = &stats[0];
        assert_eq!((s.total, s.open, s.open_overdue, s.closed, s.closed_on_time, s.fixed), (6, 2, 1, 4, 3, 3));
        assert_eq!(s.on_time_rate, Some(0.75));
        assert_eq!(s.median_hours_to_fix, Some(20.0));
    }

    #[test]
    fn nothing_closed_means_no_rate() {
        let rows = vec![row(ReportStatus::Routed, None, 24)];
        let s = &compute(&rows, Utc.with_ymd_and_hms(2026, 5, 4, 9, 0, 0).unwrap())[0];
        assert_eq!(s.on_time_rate, None);
        assert_eq!(s.median_hours_to_fix, None);
        assert_eq!(median(&[1.0, 3.0]), Some(2.0));
    }
}
