//! The Georgian working-day calendar: public holidays, working hours, and Tbilisi local time.
//!
//! Response deadlines ([`crate::sla`]) are counted in working time, so this module answers the
//! one question they need: "is this local day (and this local hour) working time?". It knows the
//! holidays fixed by the Labour Code, computes the movable Orthodox Easter holidays, and takes
//! the rest as data: one-off holidays and working Saturdays decreed by the government, and each
//! body's opening hours. Nothing here reads a clock; callers pass instants in.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

/// Tbilisi's offset from UTC: +04:00 all year.
///
/// Georgia abolished daylight saving time in 2005, so a fixed offset is exact and spares the
/// crate a time-zone database (which the phone would otherwise have to ship and keep fresh).
pub fn tbilisi_offset() -> FixedOffset {
    FixedOffset::east_opt(4 * 3600).expect("+04:00 is a valid offset")
}

/// The Tbilisi wall-clock time of an instant.
pub(crate) fn to_tbilisi(instant: DateTime<Utc>) -> NaiveDateTime {
    instant.with_timezone(&tbilisi_offset()).naive_local()
}

/// The instant of a Tbilisi wall-clock time. A fixed offset has neither gaps nor overlaps, so
/// every wall-clock time maps to exactly one instant.
pub(crate) fn from_tbilisi(local: NaiveDateTime) -> DateTime<Utc> {
    local
        .checked_sub_offset(tbilisi_offset())
        .expect("shifting by four hours stays inside chrono's date range")
        .and_utc()
}

/// The Gregorian date of Orthodox Easter Sunday in `year`.
///
/// The Georgian Orthodox Church reckons Easter on the Julian calendar, so this runs Meeus's
/// Julian Easter algorithm and then converts the Julian date to the Gregorian calendar the rest
/// of the product uses. The gap between the two calendars is 13 days from 1900 to 2099; it is
/// computed rather than hard-coded because it grows by one day in every century year not
/// divisible by 400 (14 days from March 2100).
///
/// # Panics
///
/// Only for years outside chrono's `NaiveDate` range (about ±262 000), where no date exists.
pub fn orthodox_easter(year: i32) -> NaiveDate {
    // Meeus, "Astronomical Algorithms", Julian calendar Easter. `rem_euclid` keeps the
    // arithmetic right for the (theoretical) negative years too.
    let a = year.rem_euclid(4);
    let b = year.rem_euclid(7);
    let c = year.rem_euclid(19);
    let d = (19 * c + 15) % 30;
    let e = (2 * a + 4 * b - d + 34) % 7;
    let month = (d + e + 114) / 31;
    let day = (d + e + 114) % 31 + 1;

    // Julian Easter falls between March 22 and April 25, so the same month/day numbers always
    // name a real Gregorian date; adding the calendar gap then moves it to the right day.
    let century = year.div_euclid(100);
    let julian_gregorian_gap = century - century.div_euclid(4) - 2;

    let same_numbers =
        NaiveDate::from_ymd_opt(year, month as u32, day as u32).expect("Julian Easter is a valid March or April date");
    same_numbers
        .checked_add_days(Days::new(julian_gregorian_gap as u64))
        .expect("Easter plus a few days stays inside chrono's date range")
}

/// Holidays on the same date every year (set by the Labour Code of Georgia), as (month, day).
const FIXED_HOLIDAYS: [(u32, u32); 13] = [
    (1, 1),   // New Year's Day
    (1, 2),   // New Year holiday
    (1, 7),   // Orthodox Christmas
    (1, 19),  // Epiphany (Natlisgeba)
    (3, 3),   // Mother's Day
    (3, 8),   // International Women's Day
    (4, 9),   // Day of National Unity
    (5, 9),   // Victory Day
    (5, 12),  // St Andrew the First-Called Day
    (5, 26),  // Independence Day
    (8, 28),  // Dormition of the Mother of God (Mariamoba)
    (10, 14), // Svetitskhovloba
    (11, 23), // St George's Day (Giorgoba)
];

/// Movable holidays as day offsets from Orthodox Easter Sunday: Good Friday, Holy Saturday,
/// Easter Sunday, Easter Monday.
const EASTER_HOLIDAY_OFFSETS: [i64; 4] = [-2, -1, 0, 1];

/// Errors from building a [`Calendar`] or [`WorkingHours`] out of invalid data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// Working hours must open before they close on the same day; night shifts are not modelled.
    #[error("working hours must open before they close (got {opens}–{closes})")]
    EmptyWorkingHours {
        /// The requested opening time.
        opens: NaiveTime,
        /// The requested closing time.
        closes: NaiveTime,
    },
    /// A date cannot be both a decreed holiday and a decreed working day.
    #[error("{0} is listed both as an extra holiday and as an extra working day")]
    ConflictingOverride(NaiveDate),
}

/// The daily opening hours of a working day, in Tbilisi local time.
///
/// Always non-empty and within one day (`opens < closes`): a deadline counted in working hours
/// would never advance otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "WorkingHoursWire", into = "WorkingHoursWire")]
pub struct WorkingHours {
    opens: NaiveTime,
    closes: NaiveTime,
}

/// Wire shape of [`WorkingHours`], validated on the way in. Do not modify without bumping the
/// version of the feed that carries it.
#[derive(Serialize, Deserialize)]
struct WorkingHoursWire {
    opens: NaiveTime,
    closes: NaiveTime,
}

impl WorkingHours {
    /// Opening hours from `opens` to `closes` local time; refuses an empty or overnight range.
    pub fn new(opens: NaiveTime, closes: NaiveTime) -> Result<Self, CalendarError> {
        if opens < closes {
            Ok(Self { opens, closes })
        } else {
            Err(CalendarError::EmptyWorkingHours { opens, closes })
        }
    }

    /// The default public-office hours: 09:00–18:00 local time.
    pub fn office() -> Self {
        Self {
            opens: NaiveTime::from_hms_opt(9, 0, 0).expect("09:00 is a valid time"),
            closes: NaiveTime::from_hms_opt(18, 0, 0).expect("18:00 is a valid time"),
        }
    }

    /// Local time the working day starts.
    pub fn opens(&self) -> NaiveTime {
        self.opens
    }

    /// Local time the working day ends; a deadline in working days falls at this time.
    pub fn closes(&self) -> NaiveTime {
        self.closes
    }
}

impl Default for WorkingHours {
    fn default() -> Self {
        Self::office()
    }
}

impl TryFrom<WorkingHoursWire> for WorkingHours {
    type Error = CalendarError;

    fn try_from(wire: WorkingHoursWire) -> Result<Self, Self::Error> {
        Self::new(wire.opens, wire.closes)
    }
}

impl From<WorkingHours> for WorkingHoursWire {
    fn from(hours: WorkingHours) -> Self {
        Self { opens: hours.opens, closes: hours.closes }
    }
}

/// The Georgian public-holiday calendar plus working hours: which local days and hours count
/// towards a response deadline.
///
/// The statutory holidays (fixed dates and Orthodox Good Friday to Easter Monday) are built in,
/// because they are law and the same for every body. What changes by decree or by body is data
/// and is what (de)serializes: extra holidays, extra working days (e.g. a Saturday declared
/// working to bridge a holiday) and the working hours. An extra working day overrides any
/// holiday or weekend on that date; a date is never both an extra holiday and an extra working
/// day (the builder keeps the latest decision, deserialization refuses the conflict).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "CalendarWire", into = "CalendarWire")]
pub struct Calendar {
    extra_holidays: BTreeSet<NaiveDate>,
    extra_working_days: BTreeSet<NaiveDate>,
    working_hours: WorkingHours,
}

/// Wire shape of [`Calendar`]'s configurable parts, validated on the way in. Do not modify
/// without bumping the version of the feed that carries it.
#[derive(Serialize, Deserialize)]
struct CalendarWire {
    #[serde(default)]
    extra_holidays: BTreeSet<NaiveDate>,
    #[serde(default)]
    extra_working_days: BTreeSet<NaiveDate>,
    #[serde(default)]
    working_hours: WorkingHours,
}

impl TryFrom<CalendarWire> for Calendar {
    type Error = CalendarError;

    fn try_from(wire: CalendarWire) -> Result<Self, Self::Error> {
        if let Some(date) = wire.extra_holidays.intersection(&wire.extra_working_days).next() {
            return Err(CalendarError::ConflictingOverride(*date));
        }
        Ok(Self {
            extra_holidays: wire.extra_holidays,
            extra_working_days: wire.extra_working_days,
            working_hours: wire.working_hours,
        })
    }
}

impl From<Calendar> for CalendarWire {
    fn from(calendar: Calendar) -> Self {
        Self {
            extra_holidays: calendar.extra_holidays,
            extra_working_days: calendar.extra_working_days,
            working_hours: calendar.working_hours,
        }
    }
}

impl Calendar {
    /// The statutory Georgian calendar with 09:00–18:00 working hours and no decrees.
    pub fn georgian() -> Self {
        Self::default()
    }

    /// Adds a one-off holiday (a government decree). Cancels an extra working day on that date.
    #[must_use]
    pub fn with_extra_holiday(mut self, date: NaiveDate) -> Self {
        self.extra_working_days.remove(&date);
        self.extra_holidays.insert(date);
        self
    }

    /// Declares a day working even if it is a weekend or a holiday (a decree moving a day off).
    /// Cancels an extra holiday on that date.
    #[must_use]
    pub fn with_extra_working_day(mut self, date: NaiveDate) -> Self {
        self.extra_holidays.remove(&date);
        self.extra_working_days.insert(date);
        self
    }

    /// Replaces the working hours.
    #[must_use]
    pub fn with_working_hours(mut self, hours: WorkingHours) -> Self {
        self.working_hours = hours;
        self
    }

    /// The daily working hours, in Tbilisi local time.
    pub fn working_hours(&self) -> WorkingHours {
        self.working_hours
    }

    /// Whether `date` is a public holiday: statutory (fixed or Easter) or decreed, and not
    /// declared a working day. Weekends are not holidays by themselves.
    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        if self.extra_working_days.contains(&date) {
            return false;
        }
        self.extra_holidays.contains(&date) || is_statutory_holiday(date)
    }

    /// Whether `date` counts towards deadlines: Monday to Friday and not a holiday, or declared
    /// an extra working day.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        if self.extra_working_days.contains(&date) {
            return true;
        }
        let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        !weekend && !self.is_holiday(date)
    }

    /// Every holiday of `year` in date order (statutory and decreed, minus any declared working),
    /// e.g. for the public "days off" page and the phone's offline calendar.
    pub fn holidays_in(&self, year: i32) -> Vec<NaiveDate> {
        let easter = orthodox_easter(year);
        let statutory = FIXED_HOLIDAYS
            .iter()
            .filter_map(|&(month, day)| NaiveDate::from_ymd_opt(year, month, day))
            .chain(EASTER_HOLIDAY_OFFSETS.iter().filter_map(|&offset| shift(easter, offset)));
        let decreed = self.extra_holidays.iter().copied().filter(|date| date.year() == year);
        // A BTreeSet sorts and removes the rare collisions (Easter Monday can fall on May 9).
        let all: BTreeSet<NaiveDate> = statutory.chain(decreed).collect();
        all.into_iter().filter(|date| !self.extra_working_days.contains(date)).collect()
    }

    /// The local working-time window of `date`, if it is a working day.
    pub(crate) fn working_window(&self, date: NaiveDate) -> Option<(NaiveDateTime, NaiveDateTime)> {
        self.is_working_day(date)
            .then(|| (date.and_time(self.working_hours.opens), date.and_time(self.working_hours.closes)))
    }
}

/// Whether `date` is a holiday by law, before any decree.
fn is_statutory_holiday(date: NaiveDate) -> bool {
    if FIXED_HOLIDAYS.contains(&(date.month(), date.day())) {
        return true;
    }
    let easter = orthodox_easter(date.year());
    EASTER_HOLIDAY_OFFSETS.iter().any(|&offset| shift(easter, offset) == Some(date))
}

/// `date` moved by `days` (either direction); `None` only at the ends of chrono's range.
fn shift(date: NaiveDate, days: i64) -> Option<NaiveDate> {
    if days >= 0 {
        date.checked_add_days(Days::new(days.unsigned_abs()))
    } else {
        date.checked_sub_days(Days::new(days.unsigned_abs()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn time(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn orthodox_easter_matches_the_church_calendar() {
        // Published Georgian Orthodox Easter dates (Gregorian).
        assert_eq!(orthodox_easter(2010), date(2010, 4, 4)); // same day as Western Easter
        assert_eq!(orthodox_easter(2019), date(2019, 4, 28));
        assert_eq!(orthodox_easter(2021), date(2021, 5, 2));
        assert_eq!(orthodox_easter(2022), date(2022, 4, 24));
        assert_eq!(orthodox_easter(2023), date(2023, 4, 16));
        assert_eq!(orthodox_easter(2024), date(2024, 5, 5));
        assert_eq!(orthodox_easter(2025), date(2025, 4, 20));
        assert_eq!(orthodox_easter(2026), date(2026, 4, 12));
        assert_eq!(orthodox_easter(2027), date(2027, 5, 2));
    }

    #[test]
    fn orthodox_easter_is_always_a_sunday_between_april_4_and_may_8() {
        // Julian Easter spans March 22–April 25; +13 days gives April 4–May 8 in 1900–2099.
        for year in 1900..=2099 {
            let easter = orthodox_easter(year);
            assert_eq!(easter.weekday(), Weekday::Sun, "{year}");
            assert!((date(year, 4, 4)..=date(year, 5, 8)).contains(&easter), "{year}: {easter}");
        }
    }

    #[test]
    fn tbilisi_is_four_hours_ahead_of_utc() {
        assert_eq!(tbilisi_offset().local_minus_utc(), 4 * 3600);
        let noon_utc = date(2026, 7, 1).and_time(time(12, 0)).and_utc();
        assert_eq!(to_tbilisi(noon_utc), date(2026, 7, 1).and_time(time(16, 0)));
        assert_eq!(from_tbilisi(date(2026, 7, 1).and_time(time(16, 0))), noon_utc);
    }

    #[test]
    fn no_fixed_holiday_of_2026_is_a_working_day() {
        let calendar = Calendar::georgian();
        let fixed_2026 = [
            date(2026, 1, 1),
            date(2026, 1, 2),
            date(2026, 1, 7),
            date(2026, 1, 19),
            date(2026, 3, 3),
            date(2026, 3, 8), // a Sunday anyway
            date(2026, 4, 9),
            date(2026, 5, 9), // a Saturday anyway
            date(2026, 5, 12),
            date(2026, 5, 26),
            date(2026, 8, 28),
            date(2026, 10, 14),
            date(2026, 11, 23),
        ];
        for day in fixed_2026 {
            assert!(calendar.is_holiday(day), "{day} should be a holiday");
            assert!(!calendar.is_working_day(day), "{day} should not be worked");
        }
    }

    #[test]
    fn easter_2026_closes_offices_from_national_unity_day_to_easter_monday() {
        let calendar = Calendar::georgian();
        // Thu Apr 9 (National Unity Day), Good Friday Apr 10, Holy Saturday Apr 11,
        // Easter Sunday Apr 12, Easter Monday Apr 13.
        for day in 9..=13 {
            assert!(calendar.is_holiday(date(2026, 4, day)), "April {day}");
            assert!(!calendar.is_working_day(date(2026, 4, day)), "April {day}");
        }
        // The Wednesday before and the Tuesday after are ordinary working days.
        assert!(calendar.is_working_day(date(2026, 4, 8)));
        assert!(calendar.is_working_day(date(2026, 4, 14)));
    }

    #[test]
    fn weekends_are_not_working_days_but_not_holidays_either() {
        let calendar = Calendar::georgian();
        let saturday = date(2026, 3, 14);
        assert!(!calendar.is_working_day(saturday));
        assert!(!calendar.is_holiday(saturday));
        assert!(calendar.is_working_day(date(2026, 3, 13))); // an ordinary Friday
    }

    #[test]
    fn holidays_of_2026_are_listed_in_date_order() {
        // 13 fixed dates + Apr 10–13 (Easter 2026 is April 12).
        let expected = vec![
            date(2026, 1, 1),
            date(2026, 1, 2),
            date(2026, 1, 7),
            date(2026, 1, 19),
            date(2026, 3, 3),
            date(2026, 3, 8),
            date(2026, 4, 9),
            date(2026, 4, 10),
            date(2026, 4, 11),
            date(2026, 4, 12),
            date(2026, 4, 13),
            date(2026, 5, 9),
            date(2026, 5, 12),
            date(2026, 5, 26),
            date(2026, 8, 28),
            date(2026, 10, 14),
            date(2026, 11, 23),
        ];
        assert_eq!(Calendar::georgian().holidays_in(2026), expected);
    }

    #[test]
    fn a_decreed_holiday_closes_an_ordinary_weekday() {
        let decree = date(2026, 6, 15); // a Monday
        let calendar = Calendar::georgian().with_extra_holiday(decree);
        assert!(calendar.is_holiday(decree));
        assert!(!calendar.is_working_day(decree));
        assert!(calendar.holidays_in(2026).contains(&decree));
        assert!(!calendar.holidays_in(2027).contains(&decree));
    }

    #[test]
    fn a_saturday_declared_working_counts_and_can_cancel_a_holiday() {
        let working_saturday = date(2026, 3, 14);
        let moved_holiday = date(2026, 1, 2); // a Friday off moved to a working day
        let calendar =
            Calendar::georgian().with_extra_working_day(working_saturday).with_extra_working_day(moved_holiday);
        assert!(calendar.is_working_day(working_saturday));
        assert!(calendar.is_working_day(moved_holiday));
        assert!(!calendar.is_holiday(moved_holiday));
        assert!(!calendar.holidays_in(2026).contains(&moved_holiday));
    }

    #[test]
    fn the_latest_decree_about_a_date_wins() {
        let day = date(2026, 6, 15);
        let calendar = Calendar::georgian().with_extra_holiday(day).with_extra_working_day(day);
        assert!(calendar.is_working_day(day));
        let calendar = calendar.with_extra_holiday(day);
        assert!(!calendar.is_working_day(day));
    }

    #[test]
    fn working_hours_must_open_before_they_close() {
        assert!(WorkingHours::new(time(10, 0), time(19, 0)).is_ok());
        assert_eq!(
            WorkingHours::new(time(18, 0), time(9, 0)),
            Err(CalendarError::EmptyWorkingHours { opens: time(18, 0), closes: time(9, 0) })
        );
        assert!(WorkingHours::new(time(9, 0), time(9, 0)).is_err());
        assert_eq!(WorkingHours::default().opens(), time(9, 0));
        assert_eq!(WorkingHours::default().closes(), time(18, 0));
    }

    #[test]
    fn the_configurable_parts_travel_as_json() {
        let calendar = Calendar::georgian()
            .with_extra_holiday(date(2026, 6, 15))
            .with_extra_working_day(date(2026, 3, 14))
            .with_working_hours(WorkingHours::new(time(10, 0), time(19, 0)).unwrap());
        let json = serde_json::to_value(&calendar).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "extra_holidays": ["2026-06-15"],
                "extra_working_days": ["2026-03-14"],
                "working_hours": { "opens": "10:00:00", "closes": "19:00:00" }
            })
        );
        let back: Calendar = serde_json::from_value(json).unwrap();
        assert_eq!(back, calendar);
    }

    #[test]
    fn an_empty_feed_entry_means_the_statutory_calendar() {
        let calendar: Calendar = serde_json::from_str("{}").unwrap();
        assert_eq!(calendar, Calendar::georgian());
    }

    #[test]
    fn invalid_calendar_data_is_refused_on_the_way_in() {
        let overnight = r#"{"working_hours": {"opens": "18:00:00", "closes": "09:00:00"}}"#;
        assert!(serde_json::from_str::<Calendar>(overnight).is_err());
        let conflict = r#"{"extra_holidays": ["2026-06-15"], "extra_working_days": ["2026-06-15"]}"#;
        assert!(serde_json::from_str::<Calendar>(conflict).is_err());
    }
}
