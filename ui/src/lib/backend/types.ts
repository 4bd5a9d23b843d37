// The shapes the UI works with. Two sources, one model:
// - `smartmap_mobile::views` (mobile/src/views.rs) as the Tauri shell returns them, unchanged
//   (snake_case). These are the UI's own model: `ReportView`, `CategoryView`, `Preview`, …
// - the server's JSON (sync-server/src/reports/views.rs, sync-server/src/http/*.rs). `http.ts`
//   converts server answers into the mobile view types, so screens never care which backend
//   answered.
// Instants are RFC 3339 strings in UTC.

/** Content in both languages (category, body and district names). */
export interface Localized {
  ka: string;
  en: string;
}

export type Lang = 'ka' | 'en';

export interface LatLon {
  lat: number;
  lon: number;
}

/** Roles (`smartmap_shared::role::Role`). */
export type Role =
  | 'resident'
  | 'field_crew'
  | 'district_staff'
  | 'department_staff'
  | 'moderator'
  | 'admin';

/** A deadline rule: `amount` of `unit`. */
export interface Sla {
  amount: number;
  unit: 'working_days' | 'working_hours';
}

/** The server's statuses plus the phone's own for a report not on the server yet. */
export type ServerStatus =
  | 'submitted'
  | 'routed'
  | 'acknowledged'
  | 'in_progress'
  | 'fixed'
  | 'duplicate'
  | 'no_action'
  | 'reopened';
export type LocalStatus = 'queued' | 'sending' | 'rejected';
export type ReportStatus = ServerStatus | LocalStatus;

export const SERVER_STATUSES: ServerStatus[] = [
  'submitted',
  'routed',
  'acknowledged',
  'in_progress',
  'fixed',
  'duplicate',
  'no_action',
  'reopened',
];

/** Closed statuses (`ReportStatus::is_closed`). */
export const CLOSED_STATUSES: ReportStatus[] = ['fixed', 'duplicate', 'no_action'];

// ---------------------------------------------------------------- mobile views (Tauri)

/** `views::Account`. */
export interface Account {
  email: string | null;
  display_name: string | null;
  role: Role | null;
  /** The account as the server described it (`id`, `district`, `body`, `created_at`, …). */
  raw: ServerAccount | Record<string, unknown>;
  /** The session ended: sign in again to send queued changes. */
  needs_login: boolean;
}

/** `views::CategoryView`. */
export interface CategoryView {
  id: string;
  name: Localized;
  sla: Sla;
}

export type RouteMatch = 'exact' | 'category_wide' | 'district_administration' | 'fallback';

/** `views::Preview`: "goes to X, due in N working days". */
export interface Preview {
  district: string;
  district_name: Localized;
  body: string;
  body_name: Localized;
  matched: RouteMatch;
  sla: Sla;
  deadline: string;
  from: string;
}

/** `views::GeofenceWarning`. */
export interface GeofenceWarning {
  index: number;
  distance_m: number;
  limit_m: number;
  message: string;
}

/** `views::Queued`. */
export interface Queued {
  mutation_id: string;
  device_seq: number;
  warnings: GeofenceWarning[];
}

/** `views::QueuedReport`. */
export interface QueuedReport {
  report_id: string;
  queued: Queued;
  preview: Preview | null;
}

/** `smartmap_shared::sync::SyncedPhoto`. */
export interface SyncedPhoto {
  kind: 'report' | 'proof' | string;
  sha256: string;
  url: string;
  thumb_url: string;
}

/** `views::LocalPhoto`: captured on this phone, with upload progress. */
export interface LocalPhoto {
  kind: 'report' | 'proof' | string;
  sha256: string;
  size: number;
  uploaded: number;
  done: boolean;
}

/** `store::RejectionView`: why the server refused something. */
export interface RejectionView {
  code: string;
  message: string;
  message_ka: string;
  field: string | null;
}

/** `views::TimelineEntry`. */
export interface TimelineEntry {
  at: string;
  action: string;
  status: string | null;
  note: string | null;
  by_role: string | null;
  by_me: boolean;
  pending: boolean;
  rejection: RejectionView | null;
}

/** `views::ReportView`: the UI's report model (the HTTP backend fills it from server JSON). */
export interface ReportView {
  id: string;
  number: number | null;
  category: string;
  category_name: Localized | null;
  district: string | null;
  /** Not in the mobile view; the HTTP backend fills it from the server. */
  district_name?: Localized | null;
  body: string | null;
  body_name: Localized | null;
  status: ReportStatus;
  location: LatLon;
  description: string;
  address: string | null;
  created_at: string;
  deadline: string | null;
  overdue: boolean;
  photos: SyncedPhoto[];
  server_pending_photos: number;
  local_photos: LocalPhoto[];
  timeline: TimelineEntry[];
  mine: boolean;
  assigned_to_me: boolean;
  following: boolean;
  pending: boolean;
  rejection: RejectionView | null;
  /** Server only: report photos promised and not uploaded yet ("photos pending"). */
  photos_pending?: number;
  /** Server only: proof photos promised and not uploaded yet ("proof pending"). */
  proof_pending?: number;
  /** Server only: when it was closed. */
  closed_at?: string | null;
}

export type OutboxState = 'pending' | 'in_flight' | 'acked' | 'rejected';

/** `views::OutboxItem`. */
export interface OutboxItem {
  mutation_id: string;
  device_seq: number;
  kind: string;
  report_id: string | null;
  state: OutboxState;
  client_time: string;
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  rejection: RejectionView | null;
  photos_total: number;
  photos_uploaded: number;
  waiting_for: string | null;
}

/** `views::WaitingAccount`. */
export interface WaitingAccount {
  email: string;
  items: number;
}

/** `views::SyncStatus`. */
export interface SyncStatus {
  pending_items: number;
  pending_bytes: number;
  last_success_at: string | null;
  needs_login: boolean;
  signed_in: boolean;
  last_error: string | null;
  reference_synced: boolean;
  waiting_for_sign_in: WaitingAccount[];
}

export type SyncPhase = 'push' | 'upload' | 'pull' | 'idle';

/** `views::SyncProgress` (event `sync-progress`). */
export interface SyncProgress {
  phase: SyncPhase;
  items_done: number;
  items_total: number;
  bytes_sent: number;
  bytes_total: number;
}

/** `views::SyncSummary`. */
export interface SyncSummary {
  acked: number;
  rejected: number;
  photos_uploaded: number;
  changes_pulled: number;
  snapshot: boolean;
  requeued: number;
}

/** Payload of the `sync-finished` event. */
export interface SyncFinished {
  ok: boolean;
  summary?: SyncSummary;
  error?: string;
}

export type SyncEvent =
  | { type: 'progress'; progress: SyncProgress }
  | { type: 'finished'; finished: SyncFinished };

/** `app_info` command. */
export interface AppInfo {
  server_url: string;
  device_id: string;
  version: string;
}

// ---------------------------------------------------------------- server JSON (HTTP)

/** `account_json` (`/api/me`, login and sign-up answers). */
export interface ServerAccount {
  id: string;
  email: string;
  display_name: string;
  role: Role;
  district: string | null;
  body: string | null;
  created_at: string;
}

/** `{ id, name? }` as `views::named` writes it. */
export interface Named {
  id: string;
  name?: Localized;
}

/** A photo as `views::photo_urls` writes it. */
export interface ServerPhoto {
  kind: 'report' | 'proof';
  url: string;
  thumb_url: string;
  width: number | null;
  height: number | null;
  created_at: string;
}

/** A public timeline entry (`views::public_event`). */
export interface ServerEvent {
  at: string;
  action: string;
  from: ServerStatus | null;
  to: ServerStatus | null;
  actor_role: string;
  public_note: string | null;
  details: Record<string, unknown> | null;
  /** Staff view only. */
  actor?: string | null;
  internal_note?: string | null;
}

/** `views::public_summary`. */
export interface ServerReportSummary {
  id: string;
  number: number | null;
  category: Named;
  status: ServerStatus;
  overdue: boolean;
  location: LatLon;
  address: string | null;
  description: string;
  district: Named;
  body: Named | null;
  created_at: string;
  deadline: string | null;
  closed_at: string | null;
  duplicate_of: string | null;
  updated_at: string;
}

/** `views::public_detail` + `with_pending` (+ `mine` for the reporter). */
export interface ServerReportDetail extends ServerReportSummary {
  photos: ServerPhoto[];
  proof_photos: ServerPhoto[];
  /** Present for a signed-in caller: they follow this report. */
  following?: boolean;
  timeline: ServerEvent[];
  photos_pending?: number;
  proof_pending?: number;
  mine?: boolean;
  /** Staff view. */
  reporter?: { hidden: boolean; name?: string | null };
  crew?: string | null;
  hidden?: boolean;
  version?: number;
}

/** `GET /api/categories` items (the server's category record). */
export interface ServerCategory {
  id: string;
  name: Localized;
  sla: Sla;
  [key: string]: unknown;
}

/** `GET /api/bodies` items. */
export interface ServerBody {
  id: string;
  name: Localized;
  [key: string]: unknown;
}

/** `GET /api/districts`: GeoJSON. */
export interface DistrictFeature {
  type: 'Feature';
  id: string;
  properties: { slug: string; name_ka: string; name_en: string };
  geometry:
    | { type: 'Polygon'; coordinates: number[][][] }
    | { type: 'MultiPolygon'; coordinates: number[][][][] };
}
export interface DistrictCollection {
  type: 'FeatureCollection';
  features: DistrictFeature[];
}

/** `GET /api/sla`. */
export interface SlaRules {
  defaults: { category: string; sla: Sla }[];
  overrides: { category: string; body: string; sla: Sla }[];
}

// ---------------------------------------------------------------- map

export interface MapFilters {
  /** Category slugs (none: all). */
  categories: string[];
  /** Statuses (none: all). */
  statuses: ServerStatus[];
  /** `YYYY-MM-DD` (Tbilisi date) or empty. */
  from: string;
  to: string;
}

export interface MapQuery extends MapFilters {
  /** west, south, east, north. */
  bbox: [number, number, number, number];
  zoom: number;
}

export interface MapCluster {
  kind: 'cluster';
  lat: number;
  lon: number;
  count: number;
}

export interface MapPoint {
  kind: 'point';
  id: string;
  lat: number;
  lon: number;
  number: number | null;
  category: Named;
  status: ReportStatus;
  overdue: boolean;
  deadline: string | null;
  created_at: string;
}

export interface MapAnswer {
  clustered: boolean;
  clusters: MapCluster[];
  points: MapPoint[];
  /** More points exist than were returned (the list says so). */
  truncated: boolean;
  /** The answer comes from this device (offline): only the user's own reports. */
  offline: boolean;
}

// ---------------------------------------------------------------- inputs

/** A new report as the form collects it. */
export interface NewReport {
  category: string;
  location: LatLon;
  description: string;
  address?: string;
  hideName?: boolean;
  photos: File[];
}

/** What creating a report answered. */
export interface CreatedReport {
  id: string;
  /** Still on this device (Tauri) or already on the server (HTTP). */
  queued: boolean;
  preview: Preview | null;
}

/** A proof photo and where it was taken. */
export interface ProofInput {
  photo: File;
  lat: number;
  lon: number;
}

export interface CloseTicketInput {
  note?: string;
  proofs: ProofInput[];
}

export interface CloseTicketResult {
  queued: boolean;
  warnings: GeofenceWarning[];
}

/** Upload progress: 0..1. */
export type ProgressFn = (fraction: number) => void;
