// The one interface every screen talks to. Two implementations: `tauri.ts` (the app: commands
// into the offline mobile core) and `http.ts` (a browser: the server's HTTP API). `index.ts`
// picks one at start-up.

import type {
  Account,
  CategoryView,
  CloseTicketInput,
  CloseTicketResult,
  CreatedReport,
  DistrictCollection,
  LatLon,
  MapAnswer,
  MapQuery,
  NewReport,
  OutboxItem,
  Preview,
  ProgressFn,
  ReportView,
  SyncEvent,
  SyncStatus,
  SyncSummary,
} from './types';

export interface SignUp {
  displayName: string;
  email: string;
  password: string;
}

export interface Backend {
  /** `tauri`: the app (offline-capable); `http`: a browser. */
  readonly kind: 'tauri' | 'http';

  // -- session
  /** The signed-in account, or null. */
  account(): Promise<Account | null>;
  login(email: string, password: string): Promise<Account>;
  logout(): Promise<void>;
  /** Creates a resident account and signs in (needs the network in the app too). */
  signup(input: SignUp): Promise<Account>;

  // -- reference data
  categories(): Promise<CategoryView[]>;
  /** Where a report at this place would go and when it is due; null if not known yet. */
  preview(category: string, location: LatLon): Promise<Preview | null>;
  /** District outlines (GeoJSON), for the map when tiles do not load. */
  districts(): Promise<DistrictCollection | null>;

  // -- residents
  /** Sends (HTTP, with upload progress) or queues (Tauri) a report. */
  createReport(report: NewReport, onProgress?: ProgressFn): Promise<CreatedReport>;
  myReports(): Promise<ReportView[]>;
  report(id: string): Promise<ReportView>;
  follow(id: string, follow: boolean): Promise<void>;
  dispute(id: string, reason: string): Promise<void>;
  comment(id: string, text: string): Promise<void>;

  // -- field crews
  /** Assigned open tickets, nearest deadline first. */
  myTickets(): Promise<ReportView[]>;
  closeTicket(id: string, input: CloseTicketInput, onProgress?: ProgressFn): Promise<CloseTicketResult>;

  // -- map
  /** Reports in a box: clusters below zoom 15, points at 15 and above. Offline (app): own reports. */
  map(query: MapQuery, signal?: AbortSignal): Promise<MapAnswer>;

  // -- sync (the app; no-ops in a browser)
  syncStatus(): Promise<SyncStatus | null>;
  syncNow(): Promise<SyncSummary | null>;
  outbox(): Promise<OutboxItem[]>;
  /** Subscribes to sync progress/finished events; returns the unsubscribe function. */
  onSyncEvent(listener: (e: SyncEvent) => void): Promise<() => void>;

  // -- device
  /** The device's position, or null when there is no fix (desktop webviews answer 0,0). */
  currentPosition(): Promise<LatLon | null>;
  /** A photo captured on this device and not uploaded yet, as a data: URL (app only). */
  localThumbnail(sha256: string): Promise<string | null>;
}
