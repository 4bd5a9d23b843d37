// The app backend: Tauri commands into the offline mobile core (contract: notes/contract.md).
// Commands answer `smartmap_mobile::views` types unchanged; a failing command rejects with
// `{ code, message }`, turned into an `ApiProblem` here.

import { invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import type { Backend, SignUp } from './backend';
import { httpMap, toReportView } from './http';
import { asProblem } from './problem';
import { serverJson } from './transport';
import type {
  Account,
  CategoryView,
  DistrictCollection,
  LatLon,
  MapAnswer,
  MapQuery,
  OutboxItem,
  Preview,
  QueuedReport,
  Queued,
  ReportView,
  ServerAccount,
  SyncFinished,
  SyncProgress,
  SyncStatus,
  SyncSummary,
} from './types';

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw asProblem(e);
  }
}

/** A file's bytes as base64 (the contract passes photos as base64 strings). */
async function base64(file: Blob): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

/** `smartmap_shared::category::first_stage_categories`, for a phone that has never synced. */
const FIRST_STAGE_CATEGORIES: CategoryView[] = [
  { id: 'street-lighting', name: { ka: 'გარე განათება', en: 'Street lighting' }, sla: { amount: 3, unit: 'working_days' } },
  {
    id: 'trees-greenery',
    name: {
      ka: 'ხეები და გამწვანება (ფიტოსანიტარია, ვარჯის ფორმირება)',
      en: 'Trees and greenery care (phytosanitary work, crown shaping)',
    },
    sla: { amount: 10, unit: 'working_days' },
  },
  { id: 'park-benches', name: { ka: 'სკვერის სკამები', en: 'Park benches' }, sla: { amount: 10, unit: 'working_days' } },
  { id: 'cleaning', name: { ka: 'დასუფთავება', en: 'Cleaning' }, sla: { amount: 24, unit: 'working_hours' } },
];

function noFix(lat: number, lon: number): boolean {
  return !Number.isFinite(lat) || !Number.isFinite(lon) || (Math.abs(lat) < 1e-6 && Math.abs(lon) < 1e-6);
}

function inBox(r: ReportView, q: MapQuery): boolean {
  const [w, s, e, n] = q.bbox;
  return r.location.lon >= w && r.location.lon <= e && r.location.lat >= s && r.location.lat <= n;
}

/** The app's own reports as a map answer (offline: the server's map cannot be reached). */
function offlineMap(reports: ReportView[], q: MapQuery): MapAnswer {
  const points = reports
    .filter((r) => inBox(r, q))
    .filter((r) => !q.categories.length || q.categories.includes(r.category))
    .map((r) => ({
      kind: 'point' as const,
      id: r.id,
      lat: r.location.lat,
      lon: r.location.lon,
      number: r.number,
      category: { id: r.category, name: r.category_name ?? undefined },
      status: r.status,
      overdue: r.overdue,
      deadline: r.deadline,
      created_at: r.created_at,
    }));
  return { clustered: false, clusters: [], points, truncated: false, offline: true };
}

/** The Tauri backend. */
export function tauriBackend(): Backend {
  let categoriesCache: Promise<CategoryView[]> | null = null;
  let districtsCache: Promise<DistrictCollection | null> | null = null;

  return {
    kind: 'tauri',

    account: () => call<Account | null>('account'),
    login: (email, password) => call<Account>('login', { email, password }),
    async logout() {
      await call<null>('logout');
    },

    async signup(input: SignUp) {
      // Sign-up is a server call; the core then signs in as a device (token pair).
      await serverJson<{ token: string; user: ServerAccount }>('/api/auth/register', {
        method: 'POST',
        json: { email: input.email, password: input.password, display_name: input.displayName },
      });
      return call<Account>('login', { email: input.email, password: input.password });
    },

    categories() {
      categoriesCache ??= call<CategoryView[]>('categories').then(
        (list) => {
          if (list.length) return list;
          // Never synced (first start offline): the action plan's first-stage categories, so a
          // report can still be captured; the server validates it on arrival.
          categoriesCache = null;
          return FIRST_STAGE_CATEGORIES;
        },
        (e) => {
          categoriesCache = null;
          throw e;
        },
      );
      return categoriesCache;
    },

    async preview(category, location) {
      try {
        return await call<Preview>('preview', { category, lat: location.lat, lon: location.lon });
      } catch (e) {
        if (asProblem(e).code === 'not_ready') return null;
        throw e;
      }
    },

    districts() {
      districtsCache ??= serverJson<DistrictCollection>('/api/districts').catch(() => {
        districtsCache = null;
        return null;
      });
      return districtsCache;
    },

    async createReport(report, onProgress) {
      const photos: string[] = [];
      for (const [i, p] of report.photos.entries()) {
        photos.push(await base64(p));
        onProgress?.((i + 1) / (report.photos.length + 1));
      }
      const queued = await call<QueuedReport>('create_report', {
        draft: {
          category: report.category,
          lat: report.location.lat,
          lon: report.location.lon,
          description: report.description,
          address: report.address || null,
          hideName: report.hideName ?? false,
          photos,
        },
      });
      onProgress?.(1);
      return { id: queued.report_id, queued: true, preview: queued.preview };
    },

    myReports: () => call<ReportView[]>('my_reports'),
    report: (id) => call<ReportView>('report', { id }),
    async follow(id, follow) {
      await call<Queued>('follow', { reportId: id, follow });
    },
    async dispute(id, reason) {
      await call<Queued>('dispute', { reportId: id, reason });
    },
    async comment(id, text) {
      await call<Queued>('comment', { reportId: id, text });
    },

    myTickets: () => call<ReportView[]>('my_tickets'),

    async closeTicket(id, input, onProgress) {
      const proofs = [];
      for (const [i, p] of input.proofs.entries()) {
        proofs.push({ photo: await base64(p.photo), lat: p.lat, lon: p.lon });
        onProgress?.((i + 1) / (input.proofs.length + 1));
      }
      const queued = await call<Queued>('close_ticket', { reportId: id, note: input.note || null, proofs });
      onProgress?.(1);
      return { queued: true, warnings: queued.warnings ?? [] };
    },

    async map(q, signal) {
      // The public map lives on the server; offline, the phone shows what it holds.
      try {
        return await httpMap(q, signal);
      } catch (e) {
        if (signal?.aborted) throw e;
        return offlineMap(await call<ReportView[]>('my_reports'), q);
      }
    },

    syncStatus: () => call<SyncStatus>('sync_status'),
    syncNow: () => call<SyncSummary>('sync_now'),
    outbox: () => call<OutboxItem[]>('outbox'),

    async onSyncEvent(listener) {
      const offProgress = await listen<SyncProgress>('sync-progress', (e) =>
        listener({ type: 'progress', progress: e.payload }),
      );
      const offFinished = await listen<SyncFinished>('sync-finished', (e) =>
        listener({ type: 'finished', finished: e.payload }),
      );
      return () => {
        offProgress();
        offFinished();
      };
    },

    async currentPosition(): Promise<LatLon | null> {
      try {
        const geo = await import('@tauri-apps/plugin-geolocation');
        let permission = await geo.checkPermissions();
        if (permission.location !== 'granted') permission = await geo.requestPermissions(['location']);
        if (permission.location !== 'granted') return null;
        const p = await geo.getCurrentPosition({ enableHighAccuracy: true, timeout: 10_000, maximumAge: 60_000 });
        return noFix(p.coords.latitude, p.coords.longitude) ? null : { lat: p.coords.latitude, lon: p.coords.longitude };
      } catch {
        // Desktop webviews and denied permissions: no fix, the user drops a pin.
        return null;
      }
    },

    localThumbnail: (sha256) => call<string | null>('local_thumbnail', { sha256 }),
  };
}

export { toReportView };
