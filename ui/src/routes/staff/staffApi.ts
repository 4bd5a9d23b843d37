// The staff screens' server calls. Staff work online only: every call goes straight to the
// server through `serverFetch`/`serverJson`, which add the server URL and the bearer token in a
// browser and in the Tauri app alike. Shapes follow sync-server/src/http/staff.rs,
// sync-server/src/reports/views.rs and the dashboard/CSV routes (`/api/staff/dashboard`,
// `/api/staff/queue.csv`).

import {
  ApiProblem,
  serverFetch,
  serverJson,
  type Localized,
  type Named,
  type ServerBody,
  type ServerCategory,
  type ServerReportDetail,
  type ServerReportSummary,
  type ServerStatus,
} from '../../lib/backend';

// ------------------------------------------------------------------------------ queue

/** A queue row: the public summary plus the crew and the seconds left (negative: late). */
export interface QueueItem extends ServerReportSummary {
  crew: string | null;
  /** The assigned crew's name (newer servers). */
  crew_name?: string | null;
  seconds_to_deadline: number | null;
}

export interface QueuePage {
  total: number;
  page: number;
  page_size: number;
  items: QueueItem[];
}

/** The queue filters the server takes (`QueueParams`; it refuses unknown ones). */
export interface QueueFilters {
  /** `open` (the server's default), `all`, or one status. */
  status: string;
  /** A category slug, or '' for all. */
  category: string;
  /** Only reports flagged overdue. */
  overdue: boolean;
}

export const DEFAULT_FILTERS: QueueFilters = { status: 'open', category: '', overdue: false };

/** The filters as query parameters (defaults left out), shared by the queue and its CSV. */
export function filterParams(f: QueueFilters): URLSearchParams {
  const p = new URLSearchParams();
  if (f.status && f.status !== 'open') p.set('status', f.status);
  if (f.category) p.set('category', f.category);
  if (f.overdue) p.set('overdue', 'true');
  return p;
}

/** Reads filters back from query parameters (the hash query or a saved string). */
export function parseFilters(p: URLSearchParams): QueueFilters {
  return {
    status: p.get('status') || DEFAULT_FILTERS.status,
    category: p.get('category') || '',
    overdue: p.get('overdue') === 'true',
  };
}

export const PAGE_SIZE = 50;

export function fetchQueue(f: QueueFilters, page: number, signal?: AbortSignal): Promise<QueuePage> {
  const p = filterParams(f);
  p.set('page', String(page));
  p.set('page_size', String(PAGE_SIZE));
  return serverJson<QueuePage>(`/api/staff/queue?${p}`, { signal });
}

/** The CSV export's URL path (the same filters as the queue on screen). */
export function csvPath(f: QueueFilters): string {
  const p = filterParams(f).toString();
  return `/api/staff/queue.csv${p ? `?${p}` : ''}`;
}

/**
 * Downloads the CSV export. The route needs the bearer token, so a plain link cannot fetch it:
 * fetch it, then save the body as a Blob under the server's file name.
 */
export async function downloadCsv(f: QueueFilters): Promise<string> {
  const response = await serverFetch(csvPath(f), { headers: { accept: 'text/csv, application/problem+json' } });
  const blob = await response.blob();
  const filename = filenameOf(response.headers.get('content-disposition')) ?? defaultCsvName();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
  // Revoke later: some webviews start reading the Blob only after the click handler returns.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return filename;
}

/** The file name of a `Content-Disposition` header (RFC 6266: `filename*` wins). */
export function filenameOf(header: string | null): string | null {
  if (!header) return null;
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  if (star) {
    try {
      return decodeURIComponent(star[1].trim());
    } catch {
      // Fall through to the plain parameter.
    }
  }
  const plain = /filename\s*=\s*("([^"]*)"|[^;]+)/.exec(header);
  if (plain) return (plain[2] ?? plain[1]).trim();
  return null;
}

function defaultCsvName(): string {
  return `smartmap-queue-${new Date().toISOString().slice(0, 10)}.csv`;
}

// ------------------------------------------------------------------------------ reference data

export interface Crew {
  id: string;
  display_name: string;
  body: string | null;
}

export interface ResponseTemplate {
  id: string;
  category: string;
  title: Localized;
  body: Localized;
}

let categoriesCache: Promise<ServerCategory[]> | null = null;
let bodiesCache: Promise<ServerBody[]> | null = null;

/** Every category (cached for the visit; a failure is not cached). */
export function fetchCategories(): Promise<ServerCategory[]> {
  categoriesCache ??= serverJson<{ items: ServerCategory[] }>('/api/categories').then(
    (r) => r.items,
    (e) => {
      categoriesCache = null;
      throw e;
    },
  );
  return categoriesCache;
}

/** Every responsible body (cached for the visit). */
export function fetchBodies(): Promise<ServerBody[]> {
  bodiesCache ??= serverJson<{ items: ServerBody[] }>('/api/bodies').then(
    (r) => r.items,
    (e) => {
      bodiesCache = null;
      throw e;
    },
  );
  return bodiesCache;
}

export async function fetchCrews(): Promise<Crew[]> {
  return (await serverJson<{ items: Crew[] }>('/api/staff/crews')).items;
}

export async function fetchTemplates(category: string): Promise<ResponseTemplate[]> {
  const q = new URLSearchParams({ category });
  return (await serverJson<{ items: ResponseTemplate[] }>(`/api/staff/templates?${q}`)).items;
}

// ------------------------------------------------------------------------------ one report

/** The staff view of a report (`views::staff_detail` through `GET /api/reports/{id}`). */
export type StaffReportDetail = ServerReportDetail;

export function fetchReport(id: string, signal?: AbortSignal): Promise<StaffReportDetail> {
  return serverJson<StaffReportDetail>(`/api/reports/${encodeURIComponent(id)}`, { signal });
}

/** The flat action form of `POST /api/staff/reports/{id}/actions` (`ActionForm`). */
export interface ActionForm {
  action: 'acknowledge' | 'assign_crew' | 'not_responsible' | 'mark_duplicate' | 'no_action' | 'respond';
  crew?: string;
  to_body?: string;
  original?: string;
  reason?: string;
  public_note?: string;
  internal_note?: string;
  template?: string;
}

export function takeAction(id: string, form: ActionForm): Promise<StaffReportDetail> {
  // The server refuses fields an action does not use, and blank notes mean nothing: drop them.
  const body: Record<string, string> = {};
  for (const [k, v] of Object.entries(form)) {
    if (typeof v === 'string' && v.trim() !== '') body[k] = k === 'action' ? v : v.trim();
  }
  return serverJson<StaffReportDetail>(`/api/staff/reports/${encodeURIComponent(id)}/actions`, {
    method: 'POST',
    json: body,
  });
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

/**
 * The id of the report a staff member names for "duplicate of": a public number (`#123`, `123`),
 * a report id, or a pasted link containing one. Numbers are resolved through the Open311
 * request route, whose extended attributes carry our id.
 */
export async function resolveReport(input: string): Promise<string> {
  const text = input.trim();
  const uuid = UUID.exec(text);
  if (uuid) return uuid[0].toLowerCase();
  const number = /^#?\s*(\d{1,12})$/.exec(text);
  if (!number) throw new ApiProblem('staff_unknown_report', 'not a report number or id');
  try {
    const found = await serverJson<Array<{ extended_attributes?: { id?: string } }>>(
      `/open311/v2/requests/${number[1]}.json?extensions=true`,
    );
    const id = found?.[0]?.extended_attributes?.id;
    if (id) return id;
  } catch (e) {
    if (!(e instanceof ApiProblem) || e.status !== 404) throw e;
  }
  throw new ApiProblem('staff_unknown_report', `no report #${number[1]}`);
}

// ------------------------------------------------------------------------------ dashboard

/** A category row of the dashboard. */
export interface DashboardCategory {
  category: string | Named;
  name?: Localized;
  total: number;
  open: number;
  overdue: number;
}

/** An overdue report on the dashboard. Content fields may be slugs or `{ id, name }`. */
export interface DashboardOverdue {
  id: string;
  number: number | null;
  category: string | Named;
  district: string | Named | null;
  body: string | Named | null;
  deadline: string | null;
  status: ServerStatus;
}

export interface Dashboard {
  /** Reports counted (newer servers; else the sum of `by_status`). */
  total?: number;
  /** More reports were in scope than one dashboard reads; the figures cover the most recent. */
  truncated?: boolean;
  by_status: Partial<Record<ServerStatus, number>>;
  by_category: DashboardCategory[];
  /** A fraction 0..1 (a percentage 0..100 is accepted too); null when nothing closed yet. */
  on_time_rate: number | null;
  open: number;
  overdue_count: number;
  overdue: DashboardOverdue[];
}

export function fetchDashboard(from: string, to: string, signal?: AbortSignal): Promise<Dashboard> {
  const p = new URLSearchParams();
  if (from) p.set('from', from);
  if (to) p.set('to', to);
  const q = p.toString();
  return serverJson<Dashboard>(`/api/staff/dashboard${q ? `?${q}` : ''}`, { signal });
}

/** The slug of a content field that may be a slug or `{ id, name }`. */
export function slugOf(v: string | Named | null | undefined): string {
  if (!v) return '';
  return typeof v === 'string' ? v : v.id;
}

/** The names of a content field that may be a slug or `{ id, name }`. */
export function namesOf(v: string | Named | null | undefined): Localized | null {
  if (!v || typeof v === 'string') return null;
  return v.name ?? null;
}
