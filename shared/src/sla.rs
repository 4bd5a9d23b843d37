//! Response deadlines: how long a body has to answer, in working time on the Georgian calendar.
//!
//! All reasoning happens in Tbilisi local time (UTC+4), on the days and hours a [`Calendar`]
//! says are working; instants go in and come out in UTC so storage and the wire never carry
//! local times.

use chrono::{DateTime, Duration, NaiveDateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::{Calendar, from_tbilisi, to_tbilisi};
use crate::ids::{BodyId, CategoryId};

/// The unit an [`Sla`] counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaUnit {
    /// Whole working days after the day the clock starts.
    WorkingDays,
    /// Hours inside working hours of working days.
    WorkingHours,
}

/// A response deadline rule: `amount` of `unit`. Data, editable per category and per body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Sla {
    /// How many units; at least 1.
    pub amount: u32,
    /// What is counted.
    pub unit: SlaUnit,
}

/// Why an [`Sla`] was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SlaError {
    /// A deadline of no time at all would make every report late on arrival.
    #[error("a response deadline must allow at least one unit of working time")]
    Zero,
    /// Longer than any body could be allowed to take; most likely a typo (hours for days).
    #[error("a response deadline of {amount} {} exceeds the maximum of {max}", unit_label(.unit))]
    TooLong {
        /// The amount asked for.
        amount: u32,
        /// The unit it was asked in.
        unit: SlaUnit,
        /// The largest amount accepted in that unit.
        max: u32,
    },
}

fn unit_label(unit: &SlaUnit) -> &'static str {
    match unit {
        SlaUnit::WorkingDays => "working days",
        SlaUnit::WorkingHours => "working hours",
    }
}

impl Sla {
    /// The longest deadline accepted in working days: about a year and a half of calendar time.
    pub const MAX_WORKING_DAYS: u32 = 365;
    /// The longest deadline accepted in working hours: about a year of 9-hour working days.
    pub const MAX_WORKING_HOURS: u32 = 2000;

    /// A deadline rule of `amount` `unit`s; refuses 0 and anything above the unit's maximum
    /// ([`Sla::MAX_WORKING_DAYS`], [`Sla::MAX_WORKING_HOURS`]).
    pub fn new(amount: u32, unit: SlaUnit) -> Result<Self, SlaError> {
        let max = Self::max_amount(unit);
        if amount == 0 {
            Err(SlaError::Zero)
        } else if amount > max {
            Err(SlaError::TooLong { amount, unit, max })
        } else {
            Ok(Self { amount, unit })
        }
    }

    /// The largest amount [`Sla::new`] accepts in `unit`.
    pub fn max_amount(unit: SlaUnit) -> u32 {
        match unit {
            SlaUnit::WorkingDays => Self::MAX_WORKING_DAYS,
            SlaUnit::WorkingHours => Self::MAX_WORKING_HOURS,
        }
    }

    /// `amount` forced into the range [`Sla::new`] accepts. The fields are public and the type
    /// deserializes without validation, so a deadline computation must not trust them: this
    /// keeps it from panicking on chrono's date range or looping for millennia.
    fn effective_amount(&self) -> u32 {
        self.amount.clamp(1, Self::max_amount(self.unit))
    }
}

/// When a response is due for a report that arrived at `start` under `sla`.
///
/// All reasoning is in Tbilisi local time, on the days and hours `calendar` says are working:
///
/// - [`SlaUnit::WorkingDays`] `N`: the deadline is the closing time of working hours (18:00 local
///   by default) on the `N`th working day *after* the local day of `start`. The day the report
///   arrives never counts, whatever the hour — even if it arrives before opening time — so a
///   citizen reporting at 08:00 and one reporting at 17:59 get the same deadline.
/// - [`SlaUnit::WorkingHours`] `N`: only time inside working hours of working days is counted,
///   starting at `start` (or at the next opening, if `start` is outside working hours). The
///   deadline is the instant at which `N` hours of such time have elapsed; if that is exactly a
///   closing time, the deadline is that closing time, not the next opening.
///
/// An `amount` outside what [`Sla::new`] accepts (possible through the public fields) is
/// treated as the nearest accepted value: 0 as 1, too large as the maximum.
pub fn sla_deadline(calendar: &Calendar, start: DateTime<Utc>, sla: Sla) -> DateTime<Utc> {
    let amount = sla.effective_amount();
    let local_start = to_tbilisi(start);
    let due = match sla.unit {
        SlaUnit::WorkingDays => nth_working_day_close(calendar, local_start, amount),
        SlaUnit::WorkingHours => after_working_hours(calendar, local_start, amount),
    };
    from_tbilisi(due)
}

/// Closing time of the `n`th working day after the day of `start` (local).
fn nth_working_day_close(calendar: &Calendar, start: NaiveDateTime, n: u32) -> NaiveDateTime {
    let mut day = start.date();
    let mut counted = 0;
    // Terminates: decreed holidays are finite, so working days keep coming.
    while counted < n {
        day = day.succ_opt().expect("a bounded deadline stays inside chrono's date range");
        if calendar.is_working_day(day) {
            counted += 1;
        }
    }
    day.and_time(calendar.working_hours().closes())
}

/// The local instant at which `hours` of working time have elapsed since `start`.
fn after_working_hours(calendar: &Calendar, start: NaiveDateTime, hours: u32) -> NaiveDateTime {
    let mut remaining = TimeDelta::hours(i64::from(hours));
    let mut cursor = start;
    loop {
        let day = cursor.date();
        if let Some((opens, closes)) = calendar.working_window(day) {
            let from = cursor.max(opens);
            if from < closes {
                let available = closes - from;
                if remaining <= available {
                    return from + remaining;
                }
                remaining -= available;
            }
        }
        cursor = day
            .succ_opt()
            .expect("a bounded deadline stays inside chrono's date range")
            .and_time(chrono::NaiveTime::MIN);
    }
}

/// Working time elapsed between two instants: the part of `from..to` that falls inside working
/// hours of working days (Tbilisi local time). Zero if `to` is not after `from`.
///
/// This is the measure [`sla_deadline`] counts in, so a response is on time exactly when the
/// working time between arrival and response does not exceed the SLA (for working hours).
pub fn working_time_between(calendar: &Calendar, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
    let (from, to) = (to_tbilisi(from), to_tbilisi(to));
    let mut total = Duration::zero();
    let mut day = from.date();
    while day <= to.date() {
        if let Some((opens, closes)) = calendar.working_window(day) {
            let start = from.max(opens);
            let end = to.min(closes);
            if start < end {
                total += end - start;
            }
        }
        match day.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
    }
    total
}

/// A per-body exception to a category's deadline: reports of `category` routed to `body` are due
/// under `sla` instead of the category's own [`Sla`]. Set by admins; public, like every
/// deadline rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SlaRule {
    /// The category it applies to.
    pub category: CategoryId,
    /// The body the report is routed to.
    pub body: BodyId,
    /// The deadline that replaces the category's default for that body.
    pub sla: Sla,
}

/// The deadline rule for a report of `category` routed to `body`: the override for exactly that
/// pair if `overrides` holds one, else the category's `default`. Overrides for the category with
/// another body, or for the body with another category, do not apply.
pub fn effective_sla(default: Sla, overrides: &[SlaRule], category: &CategoryId, body: &BodyId) -> Sla {
    overrides.iter().find(|rule| &rule.category == category && &rule.body == body).map_or(default, |rule| rule.sla)
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, NaiveTime, TimeZone};

    use super::*;
    use crate::calendar::WorkingHours;

    /// The instant of a Tbilisi wall-clock time, converted by hand (UTC = local − 4 h) so the
    /// expectations do not depend on the code under test.
    fn tbilisi(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap() - TimeDelta::hours(4)
    }

    fn days(amount: u32) -> Sla {
        Sla::new(amount, SlaUnit::WorkingDays).unwrap()
    }

    fn hours(amount: u32) -> Sla {
        Sla::new(amount, SlaUnit::WorkingHours).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    // --- Sla::new ---

    #[test]
    fn an_sla_needs_at_least_one_unit() {
        assert_eq!(Sla::new(0, SlaUnit::WorkingDays), Err(SlaError::Zero));
        assert_eq!(Sla::new(0, SlaUnit::WorkingHours), Err(SlaError::Zero));
        assert_eq!(Sla::new(1, SlaUnit::WorkingHours), Ok(Sla { amount: 1, unit: SlaUnit::WorkingHours }));
    }

    #[test]
    fn an_sla_longer_than_a_year_of_work_is_refused() {
        assert!(Sla::new(365, SlaUnit::WorkingDays).is_ok());
        assert_eq!(
            Sla::new(366, SlaUnit::WorkingDays),
            Err(SlaError::TooLong { amount: 366, unit: SlaUnit::WorkingDays, max: 365 })
        );
        assert!(Sla::new(2000, SlaUnit::WorkingHours).is_ok());
        let too_long = Sla::new(2001, SlaUnit::WorkingHours).unwrap_err();
        assert_eq!(too_long.to_string(), "a response deadline of 2001 working hours exceeds the maximum of 2000");
    }

    // --- Working days ---

    #[test]
    fn a_friday_afternoon_report_with_3_working_days_is_due_wednesday_evening() {
        // Fri 2026-03-13 15:00 → Mon 16 (1), Tue 17 (2), Wed 18 (3) at 18:00 local.
        let due = sla_deadline(&Calendar::georgian(), tbilisi(2026, 3, 13, 15, 0), days(3));
        assert_eq!(due, tbilisi(2026, 3, 18, 18, 0));
        // 18:00 in Tbilisi is 14:00 UTC.
        assert_eq!(due, Utc.with_ymd_and_hms(2026, 3, 18, 14, 0, 0).unwrap());
    }

    #[test]
    fn the_day_of_arrival_never_counts_whatever_the_hour() {
        // Any time on Mon 2026-03-16, 1 working day → Tue 17 at 18:00.
        let calendar = Calendar::georgian();
        for (h, m) in [(0, 5), (8, 0), (9, 0), (17, 59), (23, 59)] {
            let due = sla_deadline(&calendar, tbilisi(2026, 3, 16, h, m), days(1));
            assert_eq!(due, tbilisi(2026, 3, 17, 18, 0), "arrived {h:02}:{m:02}");
        }
    }

    #[test]
    fn the_day_of_arrival_is_the_tbilisi_day_not_the_utc_day() {
        // Thu 2026-03-12 21:30 UTC is already Fri 13 01:30 in Tbilisi: Friday is the day of
        // arrival, so 1 working day → Mon 16 at 18:00 local.
        let start = Utc.with_ymd_and_hms(2026, 3, 12, 21, 30, 0).unwrap();
        let due = sla_deadline(&Calendar::georgian(), start, days(1));
        assert_eq!(due, tbilisi(2026, 3, 16, 18, 0));
    }

    #[test]
    fn a_weekend_report_starts_counting_on_monday() {
        // Sat 2026-03-14 → Mon 16 is the first working day.
        let due = sla_deadline(&Calendar::georgian(), tbilisi(2026, 3, 14, 11, 0), days(1));
        assert_eq!(due, tbilisi(2026, 3, 16, 18, 0));
    }

    #[test]
    fn a_report_before_easter_2026_skips_national_unity_day_and_the_easter_holidays() {
        // Wed 2026-04-08; Thu 9 National Unity Day, Fri 10 Good Friday, Sat 11, Sun 12 Easter,
        // Mon 13 Easter Monday are all closed → Tue 14 (1), Wed 15 (2), Thu 16 (3).
        let due = sla_deadline(&Calendar::georgian(), tbilisi(2026, 4, 8, 10, 0), days(3));
        assert_eq!(due, tbilisi(2026, 4, 16, 18, 0));
    }

    #[test]
    fn a_new_years_eve_report_skips_the_new_year_holidays_the_weekend_and_christmas() {
        // Wed 2025-12-31; Thu Jan 1 and Fri Jan 2 holidays, Sat 3 and Sun 4 weekend →
        // Mon Jan 5 (1), Tue Jan 6 (2); Wed Jan 7 is Orthodox Christmas → Thu Jan 8 (3).
        let calendar = Calendar::georgian();
        let start = tbilisi(2025, 12, 31, 12, 0);
        assert_eq!(sla_deadline(&calendar, start, days(2)), tbilisi(2026, 1, 6, 18, 0));
        assert_eq!(sla_deadline(&calendar, start, days(3)), tbilisi(2026, 1, 8, 18, 0));
    }

    #[test]
    fn a_saturday_declared_working_counts_towards_the_deadline() {
        // As the Friday case, but Sat 2026-03-14 decreed working → Sat 14 (1), Mon 16 (2),
        // Tue 17 (3).
        let calendar = Calendar::georgian().with_extra_working_day(date(2026, 3, 14));
        let due = sla_deadline(&calendar, tbilisi(2026, 3, 13, 15, 0), days(3));
        assert_eq!(due, tbilisi(2026, 3, 17, 18, 0));
    }

    #[test]
    fn a_decreed_holiday_pushes_the_deadline_back() {
        // As the Friday case, but Mon 2026-03-16 decreed off → Tue 17 (1), Wed 18 (2), Thu 19 (3).
        let calendar = Calendar::georgian().with_extra_holiday(date(2026, 3, 16));
        let due = sla_deadline(&calendar, tbilisi(2026, 3, 13, 15, 0), days(3));
        assert_eq!(due, tbilisi(2026, 3, 19, 18, 0));
    }

    #[test]
    fn a_body_closing_later_gets_a_later_working_day_deadline() {
        let late =
            WorkingHours::new(NaiveTime::from_hms_opt(10, 0, 0).unwrap(), NaiveTime::from_hms_opt(19, 0, 0).unwrap())
                .unwrap();
        let calendar = Calendar::georgian().with_working_hours(late);
        // Fri 2026-03-13 → Wed 18, at the body's 19:00 closing.
        let due = sla_deadline(&calendar, tbilisi(2026, 3, 13, 15, 0), days(3));
        assert_eq!(due, tbilisi(2026, 3, 18, 19, 0));
    }

    // --- Working hours ---

    #[test]
    fn working_hours_within_one_day() {
        // Mon 2026-03-16 10:00 + 3 h → 13:00 the same day.
        let due = sla_deadline(&Calendar::georgian(), tbilisi(2026, 3, 16, 10, 0), hours(3));
        assert_eq!(due, tbilisi(2026, 3, 16, 13, 0));
    }

    #[test]
    fn working_hours_carry_over_the_night_and_the_weekend() {
        // Fri 2026-03-13 17:00: 1 h until 18:00, then Mon 16 09:00 + 2 h → 11:00.
        let due = sla_deadline(&Calendar::georgian(), tbilisi(2026, 3, 13, 17, 0), hours(3));
        assert_eq!(due, tbilisi(2026, 3, 16, 11, 0));
    }

    #[test]
    fn a_deadline_that_exactly_fills_the_day_falls_at_closing_time() {
        // Fri 2026-03-13 17:00 + 1 h → Fri 18:00, not Monday's opening.
        let due = sla_deadline(&Calendar::georgian(), tbilisi(2026, 3, 13, 17, 0), hours(1));
        assert_eq!(due, tbilisi(2026, 3, 13, 18, 0));
    }

    #[test]
    fn an_early_morning_report_starts_counting_at_opening() {
        // Mon 2026-03-16 07:00: counting starts 09:00, + 2 h → 11:00.
        let due = sla_deadline(&Calendar::georgian(), tbilisi(2026, 3, 16, 7, 0), hours(2));
        assert_eq!(due, tbilisi(2026, 3, 16, 11, 0));
    }

    #[test]
    fn an_evening_report_starts_counting_next_working_morning() {
        // Mon 2026-03-16 20:00: counting starts Tue 17 09:00, + 2 h → 11:00.
        let due = sla_deadline(&Calendar::georgian(), tbilisi(2026, 3, 16, 20, 0), hours(2));
        assert_eq!(due, tbilisi(2026, 3, 17, 11, 0));
    }

    #[test]
    fn a_24_working_hour_cleaning_deadline_spans_three_days() {
        // Mon 2026-03-16 10:00: 8 h Monday (16 left), 9 h Tuesday (7 left), Wed 18 09:00 + 7 h
        // → 16:00.
        let due = sla_deadline(&Calendar::georgian(), tbilisi(2026, 3, 16, 10, 0), hours(24));
        assert_eq!(due, tbilisi(2026, 3, 18, 16, 0));
    }

    #[test]
    fn working_hours_skip_the_easter_holidays() {
        // Wed 2026-04-08 16:00: 2 h until 18:00; Apr 9–13 closed; Tue 14 09:00 + 2 h → 11:00.
        let due = sla_deadline(&Calendar::georgian(), tbilisi(2026, 4, 8, 16, 0), hours(4));
        assert_eq!(due, tbilisi(2026, 4, 14, 11, 0));
    }

    #[test]
    fn working_hours_count_on_a_saturday_declared_working() {
        // Fri 2026-03-13 17:00: 1 h Friday, Sat 14 (decreed working) 09:00 + 2 h → 11:00.
        let calendar = Calendar::georgian().with_extra_working_day(date(2026, 3, 14));
        let due = sla_deadline(&calendar, tbilisi(2026, 3, 13, 17, 0), hours(3));
        assert_eq!(due, tbilisi(2026, 3, 14, 11, 0));
    }

    #[test]
    fn working_hours_follow_the_bodys_opening_hours() {
        let late =
            WorkingHours::new(NaiveTime::from_hms_opt(10, 0, 0).unwrap(), NaiveTime::from_hms_opt(19, 0, 0).unwrap())
                .unwrap();
        let calendar = Calendar::georgian().with_working_hours(late);
        // Fri 2026-03-13 18:30: 30 min until 19:00, Mon 16 10:00 + 30 min → 10:30.
        let due = sla_deadline(&calendar, tbilisi(2026, 3, 13, 18, 30), hours(1));
        assert_eq!(due, tbilisi(2026, 3, 16, 10, 30));
    }

    #[test]
    fn amounts_that_bypassed_validation_are_clamped_not_trusted() {
        let calendar = Calendar::georgian();
        let start = tbilisi(2026, 3, 16, 10, 0);
        let zero_days = Sla { amount: 0, unit: SlaUnit::WorkingDays };
        assert_eq!(sla_deadline(&calendar, start, zero_days), sla_deadline(&calendar, start, days(1)));
        let absurd_hours = Sla { amount: u32::MAX, unit: SlaUnit::WorkingHours };
        assert_eq!(
            sla_deadline(&calendar, start, absurd_hours),
            sla_deadline(&calendar, start, hours(Sla::MAX_WORKING_HOURS))
        );
    }

    // --- working_time_between ---

    #[test]
    fn working_time_between_counts_only_open_hours() {
        let calendar = Calendar::georgian();
        // Mon 2026-03-16 10:00–12:30: 2 h 30 min.
        assert_eq!(
            working_time_between(&calendar, tbilisi(2026, 3, 16, 10, 0), tbilisi(2026, 3, 16, 12, 30)),
            Duration::minutes(150)
        );
        // Mon 07:00–20:00: only 09:00–18:00 counts.
        assert_eq!(
            working_time_between(&calendar, tbilisi(2026, 3, 16, 7, 0), tbilisi(2026, 3, 16, 20, 0)),
            Duration::hours(9)
        );
        // Fri 13 17:00 → Mon 16 11:00: 1 h Friday + 2 h Monday.
        assert_eq!(
            working_time_between(&calendar, tbilisi(2026, 3, 13, 17, 0), tbilisi(2026, 3, 16, 11, 0)),
            Duration::hours(3)
        );
    }

    #[test]
    fn working_time_between_skips_weekends_and_holidays() {
        let calendar = Calendar::georgian();
        // Mon 2026-03-16 00:00 → Mon 23 00:00: five 9-hour days.
        assert_eq!(
            working_time_between(&calendar, tbilisi(2026, 3, 16, 0, 0), tbilisi(2026, 3, 23, 0, 0)),
            Duration::hours(45)
        );
        // Mon 2026-04-06 00:00 → Tue 14 00:00: Mon 6, Tue 7, Wed 8 worked; Thu 9 to Mon 13 off.
        assert_eq!(
            working_time_between(&calendar, tbilisi(2026, 4, 6, 0, 0), tbilisi(2026, 4, 14, 0, 0)),
            Duration::hours(27)
        );
    }

    #[test]
    fn working_time_between_is_zero_when_the_interval_is_empty_or_reversed() {
        let calendar = Calendar::georgian();
        let monday_noon = tbilisi(2026, 3, 16, 12, 0);
        assert_eq!(working_time_between(&calendar, monday_noon, monday_noon), Duration::zero());
        assert_eq!(working_time_between(&calendar, monday_noon, tbilisi(2026, 3, 16, 10, 0)), Duration::zero());
        // Saturday all day.
        assert_eq!(
            working_time_between(&calendar, tbilisi(2026, 3, 14, 0, 0), tbilisi(2026, 3, 15, 0, 0)),
            Duration::zero()
        );
    }

    #[test]
    fn a_response_at_the_working_hours_deadline_took_exactly_the_sla() {
        // The two functions measure the same thing, so statistics agree with deadlines.
        let calendar = Calendar::georgian().with_extra_working_day(date(2026, 3, 14));
        let starts = [
            tbilisi(2026, 3, 13, 17, 0),
            tbilisi(2026, 3, 16, 7, 0),
            tbilisi(2026, 4, 8, 16, 45),
            tbilisi(2025, 12, 31, 23, 0),
        ];
        for start in starts {
            for amount in [1, 3, 9, 24, 100] {
                let due = sla_deadline(&calendar, start, hours(amount));
                assert_eq!(
                    working_time_between(&calendar, start, due),
                    Duration::hours(i64::from(amount)),
                    "{start} + {amount} h"
                );
            }
        }
    }

    // --- effective_sla ---

    fn rule(category: &str, body: &str, sla: Sla) -> SlaRule {
        SlaRule { category: CategoryId::parse(category).unwrap(), body: BodyId::parse(body).unwrap(), sla }
    }

    #[test]
    fn without_overrides_the_category_default_applies() {
        let cleaning = CategoryId::parse("cleaning").unwrap();
        let tbilservice = BodyId::parse("tbilservice").unwrap();
        assert_eq!(effective_sla(hours(24), &[], &cleaning, &tbilservice), hours(24));
    }

    #[test]
    fn an_override_for_the_category_and_body_wins_over_the_default() {
        let overrides = [rule("park-benches", "tbilservice", days(5)), rule("cleaning", "tbilservice", days(2))];
        let cleaning = CategoryId::parse("cleaning").unwrap();
        let tbilservice = BodyId::parse("tbilservice").unwrap();
        assert_eq!(effective_sla(hours(24), &overrides, &cleaning, &tbilservice), days(2));
    }

    #[test]
    fn an_override_applies_only_to_its_own_pair() {
        let overrides = [rule("cleaning", "tbilservice", days(2)), rule("park-benches", "gamgeoba-vake", days(1))];
        let cleaning = CategoryId::parse("cleaning").unwrap();
        // Same category, another body; same body, another category.
        assert_eq!(
            effective_sla(hours(24), &overrides, &cleaning, &BodyId::parse("gamgeoba-vake").unwrap()),
            hours(24)
        );
        let benches = CategoryId::parse("park-benches").unwrap();
        assert_eq!(effective_sla(days(10), &overrides, &benches, &BodyId::parse("tbilservice").unwrap()), days(10));
    }

    #[test]
    fn a_rule_reads_and_writes_the_wire_format() {
        let wire = serde_json::json!({
            "category": "cleaning",
            "body": "tbilservice",
            "sla": { "amount": 2, "unit": "working_days" },
        });
        let parsed: SlaRule = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(parsed, rule("cleaning", "tbilservice", days(2)));
        assert_eq!(serde_json::to_value(&parsed).unwrap(), wire);
        let bad_slug = serde_json::json!({ "category": "Cleaning", "body": "tbilservice", "sla": wire["sla"] });
        assert!(serde_json::from_value::<SlaRule>(bad_slug).is_err());
    }
}
