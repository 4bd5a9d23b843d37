// Language, messages and formatting (Svelte 5 runes: everything that reads `lang()` re-renders
// when the language changes).
//
// Messages: `src/lib/messages/{ka,en}.ts` plus the staff screens' `staff.{ka,en}.ts`, merged
// into one table per language. Keys are FLAT dotted strings (`'nav.map'`, `'staff.queue.title'`):
// the first segment names the screen or area; the staff screens use the `staff.` prefix.
// Placeholders are `{name}`, filled from `vars`. Plurals: when `vars.n` is a number and the table
// has `<key>.one` / `<key>.other`, `t('<key>', { n })` picks one (English needs it; Georgian nouns
// stay singular after numerals, so both forms read the same). A key missing in the current
// language falls back to the other language, then to the key itself.
//
// Georgian is the default; the choice sticks in localStorage (`smartmap.lang`) and sets
// `<html lang>`. Content names (categories, bodies, districts) come from the server in both
// languages: show them with `name()`. Dates and times are always Tbilisi's (UTC+4, no DST),
// formatted by hand rather than by Intl so every webview (WebKitGTK, Android, iOS) prints the same
// `5 მარტი, 2024` and `1 234 567,89`.

import ka from './messages/ka';
import en from './messages/en';
import staffKa from './messages/staff.ka';
import staffEn from './messages/staff.en';
import type { Lang, Localized, Sla } from './backend/types';

export type { Lang };

const LANG_KEY = 'smartmap.lang';

const tables: Record<Lang, Record<string, string>> = {
  ka: { ...ka, ...staffKa },
  en: { ...en, ...staffEn },
};

function initialLang(): Lang {
  try {
    const saved = localStorage.getItem(LANG_KEY);
    if (saved === 'ka' || saved === 'en') return saved;
  } catch {
    // Storage blocked: Georgian.
  }
  return 'ka';
}

const state = $state<{ lang: Lang }>({ lang: initialLang() });

if (typeof document !== 'undefined') document.documentElement.lang = state.lang;

/** The current language (reactive). */
export function lang(): Lang {
  return state.lang;
}

/** Switches the language; the choice sticks across visits. */
export function setLang(next: Lang): void {
  state.lang = next;
  try {
    localStorage.setItem(LANG_KEY, next);
  } catch {
    // Not persisted; still switched for this visit.
  }
  document.documentElement.lang = next;
}

export type Vars = Record<string, string | number>;

function lookup(table: Record<string, string>, key: string, vars?: Vars): string | undefined {
  const n = vars?.n;
  if (typeof n === 'number') {
    const form = table[`${key}.${n === 1 ? 'one' : 'other'}`];
    if (form !== undefined) return form;
  }
  return table[key];
}

/** The message `key` in the current language with `{placeholders}` filled. */
export function t(key: string, vars?: Vars): string {
  const current = state.lang;
  const other: Lang = current === 'ka' ? 'en' : 'ka';
  const template = lookup(tables[current], key, vars) ?? lookup(tables[other], key, vars) ?? key;
  if (!vars) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const v = vars[name];
    if (v === undefined) return whole;
    return typeof v === 'number' ? formatNumber(v) : v;
  });
}

/** Whether a message exists (e.g. `error.<code>` for a server code). */
export function has(key: string): boolean {
  return key in tables[state.lang] || key in tables.en;
}

/** A content name in the current language (falls back to the other, then ''). */
export function name(localized: Localized | null | undefined): string {
  if (!localized) return '';
  return (state.lang === 'ka' ? localized.ka || localized.en : localized.en || localized.ka) ?? '';
}

// ------------------------------------------------------------------------------ numbers

/** `1 234 567,89` (ka) / `1,234,567.89` (en). `digits`: fixed decimals (default: up to 2). */
export function formatNumber(value: number, digits?: number): string {
  if (!Number.isFinite(value)) return String(value);
  const fixed = digits === undefined ? String(Math.round(value * 100) / 100) : value.toFixed(digits);
  const negative = fixed.startsWith('-');
  const [int, frac] = (negative ? fixed.slice(1) : fixed).split('.');
  const group = state.lang === 'ka' ? '\u00a0' : ',';
  const decimal = state.lang === 'ka' ? ',' : '.';
  // Georgian groups only from five digits up would be unusual; group every number over 999.
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, group);
  return (negative ? '-' : '') + grouped + (frac ? decimal + frac : '');
}

/** A percentage, 0..1 in, `42%` out. */
export function formatPercent(fraction: number): string {
  return `${formatNumber(Math.round(Math.max(0, Math.min(1, fraction)) * 100))}%`;
}

// ------------------------------------------------------------------------------ dates

const MONTHS: Record<Lang, string[]> = {
  ka: ['იანვარი', 'თებერვალი', 'მარტი', 'აპრილი', 'მაისი', 'ივნისი', 'ივლისი', 'აგვისტო', 'სექტემბერი', 'ოქტომბერი', 'ნოემბერი', 'დეკემბერი'],
  en: ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'],
};

/** Tbilisi is UTC+4 all year. */
const TBILISI_OFFSET_MS = 4 * 3600 * 1000;

/** The instant as a Date whose UTC fields are Tbilisi wall-clock fields. */
function tbilisi(at: string | Date): Date {
  const d = typeof at === 'string' ? new Date(at) : at;
  return new Date(d.getTime() + TBILISI_OFFSET_MS);
}

/** `5 მარტი, 2024` / `5 March 2024` (Tbilisi date). */
export function formatDate(at: string | Date | null | undefined): string {
  if (!at) return '';
  const d = tbilisi(at);
  if (Number.isNaN(d.getTime())) return '';
  const day = d.getUTCDate();
  const month = MONTHS[state.lang][d.getUTCMonth()];
  const year = d.getUTCFullYear();
  return state.lang === 'ka' ? `${day} ${month}, ${year}` : `${day} ${month} ${year}`;
}

/** `5 მარტი, 2024, 14:05` (Tbilisi time). */
export function formatDateTime(at: string | Date | null | undefined): string {
  if (!at) return '';
  const d = tbilisi(at);
  if (Number.isNaN(d.getTime())) return '';
  const hh = String(d.getUTCHours()).padStart(2, '0');
  const mm = String(d.getUTCMinutes()).padStart(2, '0');
  return `${formatDate(at)}, ${hh}:${mm}`;
}

/** `3 working days` for a deadline rule. */
export function formatSla(sla: Sla | null | undefined): string {
  if (!sla) return '';
  return t(`sla.${sla.unit}`, { n: sla.amount });
}

// ------------------------------------------------------------- the Georgian working calendar

/** Orthodox Easter Sunday (Julian computus) as a Gregorian UTC date. */
function orthodoxEaster(year: number): Date {
  const a = year % 4;
  const b = year % 7;
  const c = year % 19;
  const d = (19 * c + 15) % 30;
  const e = (2 * a + 4 * b - d + 34) % 7;
  const month = Math.floor((d + e + 114) / 31); // Julian month
  const day = ((d + e + 114) % 31) + 1;
  // Julian → Gregorian: +13 days for 1900–2099.
  return new Date(Date.UTC(year, month - 1, day + 13));
}

const FIXED_HOLIDAYS = ['01-01', '01-02', '01-07', '01-19', '03-03', '03-08', '04-09', '05-09', '05-12', '05-26', '08-28', '10-14', '11-23'];

const holidayCache = new Map<number, Set<string>>();

function holidays(year: number): Set<string> {
  let set = holidayCache.get(year);
  if (!set) {
    set = new Set(FIXED_HOLIDAYS.map((md) => `${year}-${md}`));
    const easter = orthodoxEaster(year).getTime();
    for (let offset = -2; offset <= 1; offset++) {
      set.add(new Date(easter + offset * 86_400_000).toISOString().slice(0, 10));
    }
    holidayCache.set(year, set);
  }
  return set;
}

/** Whether a Tbilisi calendar day (a Date at UTC midnight) is a working day. */
export function isWorkingDay(day: Date): boolean {
  const dow = day.getUTCDay();
  if (dow === 0 || dow === 6) return false;
  return !holidays(day.getUTCFullYear()).has(day.toISOString().slice(0, 10));
}

function tbilisiDay(at: Date): Date {
  const d = tbilisi(at);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
}

export type DueState = 'ok' | 'soon' | 'overdue' | 'closed' | 'none';

/** How a deadline stands: overdue, due within a working day ("soon"), or fine. */
export function dueState(deadline: string | null | undefined, now: Date = new Date()): DueState {
  if (!deadline) return 'none';
  const end = new Date(deadline);
  if (end.getTime() <= now.getTime()) return 'overdue';
  return workingDaysBetween(now, end) <= 1 ? 'soon' : 'ok';
}

/** Working days after today up to and including the deadline's day (Tbilisi calendar). */
export function workingDaysBetween(from: Date, to: Date): number {
  const start = tbilisiDay(from).getTime();
  const end = tbilisiDay(to).getTime();
  let n = 0;
  for (let day = start + 86_400_000; day <= end; day += 86_400_000) {
    if (isWorkingDay(new Date(day))) n++;
    if (n > 400) break;
  }
  return n;
}

/**
 * A deadline (an RFC 3339 instant, as the server and the phone core send it) for people:
 * "due in 3 working days", "due today", "overdue by 2 days" (or hours, under a day).
 */
export function formatDue(deadline: string | null | undefined, now: Date = new Date()): string {
  if (!deadline) return '';
  const end = new Date(deadline);
  if (Number.isNaN(end.getTime())) return '';
  const late = now.getTime() - end.getTime();
  if (late > 0) {
    const hours = Math.floor(late / 3_600_000);
    if (hours < 24) return t('due.overdue_hours', { n: Math.max(1, hours) });
    return t('due.overdue_days', { n: Math.floor(hours / 24) });
  }
  const days = workingDaysBetween(now, end);
  if (days === 0) return t('due.today');
  return t('due.in_days', { n: days });
}
