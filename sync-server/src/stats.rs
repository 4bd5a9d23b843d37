//! Public statistics per body and category: how many reports, how many closed on time, and the
//! median time to fix. Computed from one row per routed report. Also the staff dashboard's
//! figures over the reports in a staff account's scope ([`dashboard`]).

use crate::storage::{OPEN_STATUSES, ReportRecord, StatsRow};
use chrono::{DateTime, Utc};
use serde::Serialize;
use smartmap_shared::category::Category;
use smartmap_shared::i18n::Localized;
use smartmap_shared::ids::{BodyId, CategoryId, DistrictId, ReportId};
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

/// The most overdue reports a dashboard lists.
pub const DASHBOARD_OVERDUE_LIST: usize = 50;

/// A staff dashboard: figures over the reports in the caller's scope (received in the chosen
/// window). Wire type of `GET /api/staff/dashboard`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dashboard {
    /// Reports counted.
    pub total: u64,
    /// Reports per status, every status present (0 when none).
    pub by_status: BTreeMap<&'static str, u64>,
    /// Per category (every known category, in display order): total, open, overdue.
    pub by_category: Vec<CategoryFigures>,
    /// Of the closed reports, the fraction closed no later than their deadline; `None` when none
    /// is closed.
    pub on_time_rate: Option<f64>,
    /// Open reports (routed, acknowledged, in progress, reopened).
    pub open: u64,
    /// Open reports past their deadline (flagged by the sweep or not yet).
    pub overdue_count: u64,
    /// The overdue reports, most overdue first, at most [`DASHBOARD_OVERDUE_LIST`].
    pub overdue: Vec<OverdueReport>,
    /// More reports were in scope than one dashboard reads; the figures cover the most recent.
    pub truncated: bool,
}

/// One category's line on the dashboard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryFigures {
    /// The category.
    pub category: CategoryId,
    /// Its name.
    pub name: Localized,
    /// Reports of it.
    pub total: u64,
    /// Open ones.
    pub open: u64,
    /// Open and past the deadline.
    pub overdue: u64,
}

/// An overdue report on the dashboard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverdueReport {
    /// The report.
    pub id: ReportId,
    /// Its public number.
    pub number: i64,
    /// Category.
    pub category: CategoryId,
    /// District.
    pub district: DistrictId,
    /// The body it is routed to.
    pub body: Option<BodyId>,
    /// The deadline it missed.
    pub deadline: DateTime<Utc>,
    /// Its status.
    pub status: ReportStatus,
}

/// Whether a report is open and past its deadline at `now`: flagged by the overdue sweep, or due
/// before the sweep has run.
fn overdue_at(r: &ReportRecord, now: DateTime<Utc>) -> bool {
    OPEN_STATUSES.contains(&r.status) && (r.overdue_at.is_some() || r.deadline.is_some_and(|d| d < now))
}

/// The dashboard's figures over `reports`, as of `now`; `categories` gives the lines' order and
/// names (a category no longer known gets its slug for a name).
pub fn dashboard(reports: &[ReportRecord], categories: &[Category], now: DateTime<Utc>, truncated: bool) -> Dashboard {
    let mut by_status: BTreeMap<&'static str, u64> = ReportStatus::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    let mut lines: Vec<CategoryFigures> = categories
        .iter()
        .map(|c| CategoryFigures { category: c.id.clone(), name: c.name.clone(), total: 0, open: 0, overdue: 0 })
        .collect();
    let (mut closed, mut on_time, mut open) = (0u64, 0u64, 0u64);
    let mut overdue = Vec::new();
    for r in reports {
        *by_status.entry(r.status.as_str()).or_default() += 1;
        let line = match lines.iter().position(|l| l.category == r.category) {
            Some(i) => &mut lines[i],
            None => {
                let slug = r.category.as_str();
                lines.push(CategoryFigures {
                    category: r.category.clone(),
                    name: Localized::new(slug, slug),
                    total: 0,
                    open: 0,
                    overdue: 0,
                });
                lines.last_mut().expect("just pushed")
            }
        };
        line.total += 1;
        if r.status.is_closed() {
            closed += 1;
            on_time += u64::from(matches!((r.closed_at, r.deadline), (Some(c), Some(d)) if c <= d));
        }
        if OPEN_STATUSES.contains(&r.status) {
            open += 1;
            line.open += 1;
        }
        if overdue_at(r, now) {
            line.overdue += 1;
            overdue.push(r);
        }
    }
    let overdue_count = overdue.len() as u64;
    overdue.sort_by_key(|r| (r.deadline, r.number));
    let overdue = overdue
        .into_iter()
        .take(DASHBOARD_OVERDUE_LIST)
        .map(|r| OverdueReport {
            id: r.id,
            number: r.number,
            category: r.category.clone(),
            district: r.district.clone(),
            body: r.body.clone(),
            deadline: r.deadline.unwrap_or(r.created_at),
            status: r.status,
        })
        .collect();
    Dashboard {
        total: reports.len() as u64,
        by_status,
        by_category: lines,
        on_time_rate: (closed > 0).then(|| on_time as f64 / closed as f64),
        open,
        overdue_count,
        overdue,
        truncated,
    }
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

    fn report(
        number: i64,
        category: &str,
        status: ReportStatus,
        deadline_h: i64,
        closed_h: Option<i64>,
    ) -> ReportRecord {
        let created = Utc.with_ymd_and_hms(2026, 5, 4, 8, 0, 0).unwrap();
        ReportRecord {
            id: ReportId::new_v7(),
            number,
            category: CategoryId::parse(category).unwrap(),
            district: DistrictId::parse("gldani").unwrap(),
            body: Some(BodyId::parse("tbilservice").unwrap()),
            status,
            lat: 41.8,
            lon: 44.8,
            description: String::new(),
            address: None,
            reporter: smartmap_shared::ids::UserId::new_v7(),
            hide_reporter_name: false,
            crew: None,
            duplicate_of: None,
            created_at: created,
            routed_at: Some(created),
            deadline: Some(created + Duration::hours(deadline_h)),
            closed_at: closed_h.map(|h| created + Duration::hours(h)),
            overdue_at: None,
            updated_at: created,
            version: 1,
            payload_sha256: String::new(),
            hidden: false,
        }
    }

    #[test]
    fn the_dashboard_counts_by_status_and_category_and_lists_the_most_overdue_first() {
        use ReportStatus::*;
        let categories = smartmap_shared::category::first_stage_categories();
        let reports = vec![
            report(1, "cleaning", Fixed, 24, Some(10)),             // on time
            report(2, "cleaning", NoAction, 24, Some(30)),          // late
            report(3, "cleaning", Routed, 48, None),                // overdue by 2 days at `now`
            report(4, "street-lighting", InProgress, 24, None),     // overdue by 3 days: first
            report(5, "street-lighting", Acknowledged, 1000, None), // open, in time
        ];
        let now = Utc.with_ymd_and_hms(2026, 5, 8, 8, 0, 0).unwrap();
        let d = dashboard(&reports, &categories, now, false);
        assert_eq!(d.total, 5);
        assert_eq!((d.by_status["fixed"], d.by_status["routed"], d.by_status["reopened"]), (1, 1, 0));
        assert_eq!(d.by_status.len(), ReportStatus::ALL.len());
        assert_eq!(d.on_time_rate, Some(0.5));
        assert_eq!((d.open, d.overdue_count), (3, 2));
        assert_eq!(d.overdue.iter().map(|o| o.number).collect::<Vec<_>>(), [4, 3]);
        let line = |slug: &str| d.by_category.iter().find(|l| l.category.as_str() == slug).unwrap();
        assert_eq!((line("cleaning").total, line("cleaning").open, line("cleaning").overdue), (3, 1, 1));
        assert_eq!((line("street-lighting").open, line("street-lighting").overdue), (2, 1));
        assert_eq!(d.by_category.len(), categories.len(), "every category has a line, used or not");
        assert_eq!(dashboard(&[], &categories, now, false).on_time_rate, None);
    }
}
