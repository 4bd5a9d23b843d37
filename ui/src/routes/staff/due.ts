// How a deadline stands for staff, and how to say it.
//
// - overdue: the server flagged the report overdue, or the deadline has passed;
// - soon ("due soon"): the deadline falls today or on the next working day of the Georgian
//   calendar, or less than 24 hours are left — whichever comes first;
// - ok: anything later, no deadline, or a closed report.
// The queue takes the time left from the server (`seconds_to_deadline`, measured when the page
// was answered), so a wrong clock on a staff member's PC cannot hide a late report.

import { t, formatDue, workingDaysBetween } from '../../lib/i18n.svelte';
import { CLOSED_STATUSES, type ReportStatus } from '../../lib/backend';

export type Due = 'ok' | 'soon' | 'overdue';

export interface DueInput {
  deadline: string | null;
  status: ReportStatus;
  overdue?: boolean;
  /** Seconds left as the server counted them, if known. */
  seconds_to_deadline?: number | null;
}

const DAY_S = 24 * 3600;

/** The moment the server meant by `seconds_to_deadline`, measured against this device's clock. */
function secondsLeft(r: DueInput, now: Date): number | null {
  if (typeof r.seconds_to_deadline === 'number') return r.seconds_to_deadline;
  if (!r.deadline) return null;
  const end = Date.parse(r.deadline);
  return Number.isNaN(end) ? null : (end - now.getTime()) / 1000;
}

/** `ok`, `soon` or `overdue` (the values of the queue rows' `data-due`). */
export function dueOf(r: DueInput, now: Date = new Date()): Due {
  if (CLOSED_STATUSES.includes(r.status)) return 'ok';
  if (r.overdue) return 'overdue';
  const left = secondsLeft(r, now);
  if (left === null || !r.deadline) return 'ok';
  if (left <= 0) return 'overdue';
  if (left < DAY_S) return 'soon';
  // The deadline as the server's clock puts it, then counted in working days from now.
  const end = new Date(now.getTime() + left * 1000);
  return workingDaysBetween(now, end) <= 1 ? 'soon' : 'ok';
}

/** The countdown in words: "overdue by 2 days", "5 h left", "due in 3 working days". */
export function dueText(r: DueInput, now: Date = new Date()): string {
  if (!r.deadline) return t('staff.due.none');
  if (CLOSED_STATUSES.includes(r.status)) return t('staff.due.closed');
  const left = secondsLeft(r, now);
  if (left === null) return '';
  const end = new Date(now.getTime() + left * 1000);
  if (left <= 0) return formatDue(end.toISOString(), now);
  // Due soon: the hours left say more than "today" (a deadline after a weekend is still "soon").
  if (dueOf(r, now) === 'soon') {
    const hours = Math.floor(left / 3600);
    if (hours >= 1) return t('staff.due.hours_left', { n: hours });
    return t('staff.due.minutes_left', { n: Math.max(1, Math.floor(left / 60)) });
  }
  return formatDue(end.toISOString(), now);
}

/** The label of a due state, said alongside the colour. */
export function dueLabel(d: Due): string {
  return t(`staff.due.${d}`);
}
