//! Reading what an Open311 client sent: parameters (query string or form body) under the spec's
//! rule that an empty parameter is the same as an absent one, the format suffix of a resource,
//! the jurisdiction, W3C date-times, the 90-day window and paging.

use super::document::Format;
use super::errors::{Open311Error, Open311Result};
use axum::http::HeaderMap;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use smartmap_shared::calendar::tbilisi_offset;

/// The one jurisdiction this endpoint serves (the city's website without `www`, as the spec
/// suggests).
pub const JURISDICTION: &str = "tbilisi.gov.ge";

/// The longest time range a query may span, and the default range (ending now).
pub const MAX_SPAN_DAYS: i64 = 90;

/// The most records one answer holds (the spec's default limit), and the largest `page_size`.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Parameters in the order sent; a name may repeat (`attribute[CODE][]`, `status`).
#[derive(Debug, Default, Clone)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parameters of a query string or an `application/x-www-form-urlencoded` body.
    pub fn parse(encoded: &[u8]) -> Params {
        Params(form_urlencoded::parse(encoded).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
    }

    /// Adds a parameter (a text part of a multipart form, say).
    pub fn push(&mut self, name: String, value: String) {
        self.0.push((name, value));
    }

    /// Adds every parameter of `other` after these.
    pub fn extend(&mut self, other: Params) {
        self.0.extend(other.0);
    }

    /// Every parameter, in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The first non-empty value of `name`, trimmed. An empty value counts as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.trim()).find(|v| !v.is_empty())
    }

    /// Every comma-separated item of every value of `name` ("can be declared multiple times,
    /// comma delimited"), trimmed, empty items dropped.
    pub fn list(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// A `true`/`false` flag; absent or empty is `false`.
    pub fn flag(&self, name: &str, format: Format) -> Open311Result<bool> {
        match self.get(name).map(str::to_ascii_lowercase).as_deref() {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => {
                Err(Open311Error::bad_request(format, format!("{name}: '{other}' is neither true nor false")))
            }
        }
    }

    /// A W3C date-time (see [`parse_w3c`]), if given.
    pub fn datetime(&self, name: &str, format: Format, end_of_day: bool) -> Open311Result<Option<DateTime<Utc>>> {
        self.get(name).map(|raw| parse_w3c(name, raw, end_of_day, format)).transpose()
    }

    /// `page` (1-based, default 1) and `page_size` (1–1000, default 1000): an extension the spec
    /// leaves to servers, named as most of them name it.
    pub fn page(&self, format: Format) -> Open311Result<(u32, u32)> {
        let number = |name: &str, default: u32| -> Open311Result<u32> {
            match self.get(name) {
                None => Ok(default),
                Some(raw) => raw
                    .parse::<u32>()
                    .map_err(|_| Open311Error::bad_request(format, format!("{name}: '{raw}' is not a whole number"))),
            }
        };
        let page = number("page", 1)?;
        let page_size = number("page_size", MAX_PAGE_SIZE)?;
        if page == 0 {
            return Err(Open311Error::bad_request(format, "page: pages start at 1"));
        }
        if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
            return Err(Open311Error::bad_request(format, format!("page_size: 1 to {MAX_PAGE_SIZE}")));
        }
        Ok((page, page_size))
    }
}

/// The format of a resource named with its suffix (`requests.json`, `services/cleaning.xml`):
/// the name and the format. A missing or unknown suffix is a resource we do not have: 404, said
/// in XML, the spec's required format.
pub fn split_format(raw: &str) -> Open311Result<(&str, Format)> {
    let unknown =
        || Open311Error::not_found(Format::Xml, format!("'{raw}' is not a resource here: append .xml or .json"));
    let (name, ext) = raw.rsplit_once('.').ok_or_else(unknown)?;
    let format = Format::from_extension(ext).ok_or_else(unknown)?;
    if name.is_empty() {
        return Err(unknown());
    }
    Ok((name, format))
}

/// A format on its own (the `{format}` of `services.{format}`).
pub fn format_of(ext: &str) -> Open311Result<Format> {
    Format::from_extension(ext).ok_or_else(|| {
        Open311Error::not_found(Format::Xml, format!("format '{ext}' is not offered: use .xml or .json"))
    })
}

/// Refuses a `jurisdiction_id` other than ours with 404, as the spec asks. Absent (or empty) is
/// fine: this endpoint serves one jurisdiction.
pub fn check_jurisdiction(params: &Params, format: Format) -> Open311Result<()> {
    match params.get("jurisdiction_id") {
        Some(j) if !j.eq_ignore_ascii_case(JURISDICTION) => Err(Open311Error::not_found(
            format,
            format!("jurisdiction_id '{j}' was not found: this endpoint serves only {JURISDICTION}"),
        )),
        _ => Ok(()),
    }
}

/// Parses a W3C date-time (the profile of ISO 8601 the spec names): `2026-03-10T09:00:00+04:00`,
/// `…Z`, fractions of a second, or minutes only (`2026-03-10T09:00Z`). The zone is required, as
/// the spec says. A bare date (`2026-03-10`) is taken as a day in Tbilisi: its start, or when
/// `end_of_day`, its end. A space where the zone's `+` belongs is read as `+`: a client that
/// forgot to percent-encode `+` in a query string sent a space.
pub fn parse_w3c(field: &str, raw: &str, end_of_day: bool, format: Format) -> Open311Result<DateTime<Utc>> {
    let bad = || {
        Open311Error::bad_request(
            format,
            format!(
                "{field}: '{raw}' is not a W3C date-time with a zone, e.g. 2026-03-10T09:00:00+04:00 or 2026-03-10T05:00:00Z"
            ),
        )
    };
    let text = raw.trim().replace(' ', "+");
    if let Ok(t) = DateTime::parse_from_rfc3339(&text) {
        return Ok(t.with_timezone(&Utc));
    }
    let zoned = match text.strip_suffix(['Z', 'z']) {
        Some(local) => format!("{local}+00:00"),
        None => text.clone(),
    };
    if let Ok(t) = DateTime::parse_from_str(&zoned, "%Y-%m-%dT%H:%M%:z") {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(date) = NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
        let date = if end_of_day { date.succ_opt().ok_or_else(bad)? } else { date };
        let local = date.and_time(chrono::NaiveTime::MIN);
        let instant = local.and_local_timezone(tbilisi_offset()).single().ok_or_else(bad)?.with_timezone(&Utc);
        // The end of a day is the last instant before the next midnight.
        return Ok(if end_of_day { instant - Duration::milliseconds(1) } else { instant });
    }
    if NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S").is_ok() {
        return Err(Open311Error::bad_request(
            format,
            format!("{field}: '{raw}' has no time zone; add Z or an offset such as +04:00"),
        ));
    }
    Err(bad())
}

/// An instant as the spec writes it: W3C, to the second, in Tbilisi time (`+04:00`).
pub fn w3c(t: DateTime<Utc>) -> String {
    t.with_timezone(&tbilisi_offset()).format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// A closed time range; both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The earliest instant included.
    pub from: DateTime<Utc>,
    /// The latest instant included.
    pub to: DateTime<Utc>,
}

impl Window {
    /// The exclusive upper bound storage filters take (`< to`): one millisecond past the last
    /// included instant, the finest step both backends store.
    pub fn end_exclusive(&self) -> DateTime<Utc> {
        self.to + Duration::milliseconds(1)
    }
}

/// The range named by the parameters `start` and `end`, at most 90 days long. One end alone
/// reaches 90 days from it; neither gives the most recent 90 days when `default_to` is given
/// (`now`), or no range at all. An end before the start, or a span over 90 days, is a 400.
pub fn window(
    params: &Params,
    (start, end): (&str, &str),
    default_to: Option<DateTime<Utc>>,
    format: Format,
) -> Open311Result<Option<Window>> {
    let span = Duration::days(MAX_SPAN_DAYS);
    let from = params.datetime(start, format, false)?;
    let to = params.datetime(end, format, true)?;
    let window = match (from, to) {
        (None, None) => default_to.map(|to| Window { from: to - span, to }),
        (Some(from), None) => Some(Window { from, to: from + span }),
        (None, Some(to)) => Some(Window { from: to - span, to }),
        (Some(from), Some(to)) => {
            if to < from {
                return Err(Open311Error::bad_request(format, format!("{end}: is before {start}")));
            }
            if to - from > span {
                return Err(Open311Error::bad_request(
                    format,
                    format!("{start}/{end}: a range may span at most {MAX_SPAN_DAYS} days"),
                ));
            }
            Some(Window { from, to })
        }
    };
    Ok(window)
}

/// Where this server is reached from outside, without a trailing slash: the configured
/// `public_url`, else `http://` and the request's `Host` (when it looks like a host name).
pub fn base_url(public_url: Option<&str>, headers: &HeaderMap) -> String {
    if let Some(url) = public_url.map(str::trim).filter(|u| !u.is_empty()) {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c)))
        .unwrap_or("localhost");
    format!("http://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, s).unwrap()
    }

    fn parse(raw: &str) -> Option<DateTime<Utc>> {
        parse_w3c("start_date", raw, false, Format::Xml).ok()
    }

    #[test]
    fn w3c_date_times_need_a_zone() {
        assert_eq!(parse("2026-03-10T09:00:00+04:00"), Some(at(2026, 3, 10, 5, 0, 0)));
        assert_eq!(parse("2026-03-10T05:00:00Z"), Some(at(2026, 3, 10, 5, 0, 0)));
        assert_eq!(parse("2026-03-10T05:00Z"), Some(at(2026, 3, 10, 5, 0, 0)));
        assert_eq!(parse("2026-03-10T09:00+04:00"), Some(at(2026, 3, 10, 5, 0, 0)));
        assert_eq!(parse("2026-03-10T09:00:00 04:00"), Some(at(2026, 3, 10, 5, 0, 0)), "an unencoded +");
        assert_eq!(parse("2026-03-10"), Some(at(2026, 3, 9, 20, 0, 0)), "a Tbilisi day starts at 20:00 UTC");
        for bad in ["2026-03-10T09:00:00", "yesterday", "2026-13-01T00:00:00Z", "10/03/2026"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        let end = parse_w3c("end_date", "2026-03-10", true, Format::Xml).unwrap();
        assert_eq!(end, at(2026, 3, 10, 19, 59, 59) + Duration::milliseconds(999));
    }

    #[test]
    fn instants_are_written_in_tbilisi_time() {
        assert_eq!(w3c(at(2026, 3, 10, 5, 0, 0)), "2026-03-10T09:00:00+04:00");
    }

    #[test]
    fn empty_parameters_are_absent_and_lists_split_at_commas() {
        let p = Params::parse(b"a=&a=x&b=1,%202,,&b=3&c=%20");
        assert_eq!(p.get("a"), Some("x"));
        assert_eq!(p.get("c"), None);
        assert_eq!(p.list("b"), vec!["1", "2", "3"]);
        assert!(p.list("zzz").is_empty());
    }

    #[test]
    fn windows_span_at_most_ninety_days() {
        let now = at(2026, 6, 1, 0, 0, 0);
        let w = |q: &str| window(&Params::parse(q.as_bytes()), ("start_date", "end_date"), Some(now), Format::Xml);
        assert_eq!(w("").unwrap(), Some(Window { from: now - Duration::days(90), to: now }));
        let start = at(2026, 1, 1, 0, 0, 0);
        assert_eq!(
            w("start_date=2026-01-01T00:00:00Z").unwrap(),
            Some(Window { from: start, to: start + Duration::days(90) })
        );
        assert!(w("start_date=2026-01-01T00:00:00Z&end_date=2026-04-02T00:00:00Z").is_err());
        assert!(w("start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z").is_err());
        assert!(w("start_date=2026-01-01T00:00:00Z&end_date=2026-03-31T00:00:00Z").unwrap().is_some());
    }

    #[test]
    fn resources_carry_their_format() {
        assert_eq!(split_format("cleaning.json").unwrap(), ("cleaning", Format::Json));
        assert_eq!(split_format("12.XML").unwrap(), ("12", Format::Xml));
        assert!(split_format("12").is_err());
        assert!(split_format("12.csv").is_err());
        assert!(split_format(".xml").is_err());
    }
}
