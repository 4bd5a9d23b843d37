//! The staff queue as CSV for spreadsheets: RFC 4180 (comma-separated, CRLF line ends, fields with
//! a comma, quote, CR or LF quoted and quotes doubled), a UTF-8 byte-order mark so spreadsheet
//! software reads Georgian as UTF-8, times in Tbilisi time, and every text field a spreadsheet
//! could take for a formula (`=`, `+`, `-`, `@`, tab, CR first) prefixed with `'`, so a
//! description like `=HYPERLINK(…)` is shown, never evaluated.

use super::views::is_overdue;
use crate::state::Reference;
use crate::storage::ReportRecord;
use chrono::{DateTime, SecondsFormat, Utc};
use smartmap_shared::calendar::tbilisi_offset;
use smartmap_shared::ids::UserId;
use std::borrow::Cow;
use std::collections::HashMap;

/// The most rows one export carries (the queue's order: nearest deadline first).
pub const MAX_ROWS: u32 = 10_000;

/// The header row's column names.
pub const COLUMNS: [&str; 13] = [
    "number",
    "id",
    "created_at",
    "category",
    "category_name_ka",
    "district",
    "body",
    "status",
    "deadline",
    "overdue",
    "crew",
    "address",
    "description",
];

/// The export: BOM, header, one row per report. `crews` names assigned crews (an unnamed one is
/// shown by id).
pub fn queue_csv(reports: &[ReportRecord], reference: &Reference, crews: &HashMap<UserId, String>) -> String {
    let mut out = String::from("\u{feff}");
    push_row(&mut out, COLUMNS.iter().map(|c| Cow::Borrowed(*c)));
    for r in reports {
        let category_name = reference.category(&r.category).map(|c| c.name.ka.clone()).unwrap_or_default();
        let crew = r.crew.map(|c| crews.get(&c).cloned().unwrap_or_else(|| c.to_string())).unwrap_or_default();
        let fields: [Cow<str>; 13] = [
            r.number.to_string().into(),
            r.id.to_string().into(),
            local_time(r.created_at).into(),
            r.category.as_str().into(),
            category_name.into(),
            r.district.as_str().into(),
            r.body.as_ref().map_or("", |b| b.as_str()).into(),
            r.status.as_str().into(),
            r.deadline.map(local_time).unwrap_or_default().into(),
            (if is_overdue(r) { "true" } else { "false" }).into(),
            crew.into(),
            r.address.as_deref().unwrap_or("").into(),
            r.description.as_str().into(),
        ];
        push_row(&mut out, fields.into_iter());
    }
    out
}

/// The export's file name on `today` (Tbilisi date): `smartmap-queue-YYYY-MM-DD.csv`.
pub fn file_name(now: DateTime<Utc>) -> String {
    format!("smartmap-queue-{}.csv", now.with_timezone(&tbilisi_offset()).format("%Y-%m-%d"))
}

/// RFC 3339 in Tbilisi time (`2026-03-10T09:00:00+04:00`): what staff read on the clock, and
/// still unambiguous.
fn local_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&tbilisi_offset()).to_rfc3339_opts(SecondsFormat::Secs, false)
}

fn push_row<'a>(out: &mut String, fields: impl Iterator<Item = Cow<'a, str>>) {
    for (i, field) in fields.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&csv_field(&field));
    }
    out.push_str("\r\n");
}

/// One field, neutralised against formula injection, then quoted if RFC 4180 requires it.
fn csv_field(raw: &str) -> Cow<'_, str> {
    let formula_like = raw.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let text: Cow<str> = if formula_like { format!("'{raw}").into() } else { raw.into() };
    if text.contains([',', '"', '\r', '\n']) { format!("\"{}\"", text.replace('"', "\"\"")).into() } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_per_rfc_4180_and_formulas_are_defused() {
        assert_eq!(csv_field("plain text"), "plain text");
        assert_eq!(csv_field("ქუჩის ნათურა"), "ქუჩის ნათურა");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\r\nlines"), "\"two\r\nlines\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
        assert_eq!(csv_field("+995"), "'+995");
        assert_eq!(csv_field("-2"), "'-2");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("=HYPERLINK(\"x\",\"y\")"), "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\"");
        assert_eq!(csv_field(""), "");
    }

    #[test]
    fn times_are_tbilisi_time_and_the_file_is_named_by_the_tbilisi_date() {
        use chrono::TimeZone;
        // 22:30 UTC on 9 March is already 10 March in Tbilisi.
        let t = Utc.with_ymd_and_hms(2026, 3, 9, 22, 30, 0).unwrap();
        assert_eq!(local_time(t), "2026-03-10T02:30:00+04:00");
        assert_eq!(file_name(t), "smartmap-queue-2026-03-10.csv");
    }
}
