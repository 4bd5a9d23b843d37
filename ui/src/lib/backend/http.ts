// The browser backend: the server's HTTP API at the page's own origin. Online only; sync calls
// are no-ops. Server JSON is converted into the mobile view types (`types.ts`) so screens see
// one model.

import type { Backend, SignUp } from './backend';
import { ApiProblem } from './problem';
import { canonicalJson, sha256Hex, uuidv7 } from './ids';
import { TOKEN_KEY, serverFetch, serverJson, serverUrl } from './transport';
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
  Preview,
  ProgressFn,
  ReportView,
  ServerAccount,
  ServerCategory,
  ServerEvent,
  ServerPhoto,
  ServerReportDetail,
  ServerReportSummary,
  SyncedPhoto,
} from './types';

const DEVICE_KEY = 'smartmap.device';
const SEQ_KEY = 'smartmap.device_seq';

function toAccount(u: ServerAccount): Account {
  return { email: u.email, display_name: u.display_name, role: u.role, raw: u, needs_login: false };
}

function shaOf(url: string): string {
  const m = /\/media\/([0-9a-f]+)(?:\.thumb)?\.jpg$/.exec(url);
  return m ? m[1] : url;
}

function toPhoto(p: ServerPhoto, kind: 'report' | 'proof'): SyncedPhoto {
  return { kind, sha256: shaOf(p.url), url: p.url, thumb_url: p.thumb_url };
}

function toTimeline(e: ServerEvent) {
  return {
    at: e.at,
    action: e.action,
    status: e.to,
    note: e.public_note,
    by_role: e.actor_role,
    by_me: false,
    pending: false,
    rejection: null,
  };
}

/** A server report (summary or detail) as the UI's `ReportView`. */
export function toReportView(r: ServerReportSummary | ServerReportDetail, extra: Partial<ReportView> = {}): ReportView {
  const d = r as Partial<ServerReportDetail>;
  const photos = [
    ...(d.photos ?? []).map((p) => toPhoto(p, 'report')),
    ...(d.proof_photos ?? []).map((p) => toPhoto(p, 'proof')),
  ];
  return {
    id: r.id,
    number: r.number,
    category: r.category.id,
    category_name: r.category.name ?? null,
    district: r.district?.id ?? null,
    district_name: r.district?.name ?? null,
    body: r.body?.id ?? null,
    body_name: r.body?.name ?? null,
    status: r.status,
    location: r.location,
    description: r.description,
    address: r.address,
    created_at: r.created_at,
    deadline: r.deadline,
    overdue: r.overdue,
    photos,
    server_pending_photos: (d.photos_pending ?? 0) + (d.proof_pending ?? 0),
    photos_pending: d.photos_pending ?? 0,
    proof_pending: d.proof_pending ?? 0,
    closed_at: r.closed_at,
    local_photos: [],
    timeline: (d.timeline ?? []).map(toTimeline),
    mine: d.mine ?? false,
    assigned_to_me: false,
    following: d.following ?? false,
    pending: false,
    rejection: null,
    ...extra,
  };
}

/** POSTs a multipart form with upload progress (fetch has no upload progress). */
function postForm<T>(path: string, form: FormData, onProgress?: ProgressFn): Promise<T> {
  return new Promise((resolve, reject) => {
    void serverUrl(path).then((url) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', url);
      const token = localStorage.getItem(TOKEN_KEY);
      if (token) xhr.setRequestHeader('authorization', `Bearer ${token}`);
      xhr.setRequestHeader('accept', 'application/json, application/problem+json');
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total);
      };
      xhr.onerror = () => reject(new ApiProblem('network', 'network error'));
      xhr.onload = () => {
        let body: Record<string, unknown> | null = null;
        try {
          body = JSON.parse(xhr.responseText) as Record<string, unknown>;
        } catch {
          body = null;
        }
        if (xhr.status >= 200 && xhr.status < 300) {
          onProgress?.(1);
          resolve(body as T);
          return;
        }
        const code = typeof body?.code === 'string' ? body.code : `http_${xhr.status}`;
        const title =
          typeof body?.title === 'string' && typeof body?.title_ka === 'string'
            ? { ka: body.title_ka, en: body.title }
            : null;
        reject(
          new ApiProblem(code, typeof body?.detail === 'string' ? body.detail : code, {
            status: xhr.status,
            title,
            errors: Array.isArray(body?.errors) ? (body.errors as ApiProblem['errors']) : [],
          }),
        );
      };
      xhr.send(form);
    }, reject);
  });
}

/** The browser's own device id and sequence for sync-protocol commands (follow, comment). */
function nextDevice(): { device_id: string; device_seq: number } {
  let device_id = localStorage.getItem(DEVICE_KEY);
  if (!device_id) {
    device_id = uuidv7();
    localStorage.setItem(DEVICE_KEY, device_id);
  }
  const device_seq = Number(localStorage.getItem(SEQ_KEY) ?? '0') + 1;
  localStorage.setItem(SEQ_KEY, String(device_seq));
  return { device_id, device_seq };
}

interface PushResult {
  mutation_id: string;
  outcome: 'applied' | 'duplicate' | 'rejected';
  code?: string;
  message?: string;
  message_ka?: string;
  field?: string | null;
}

/**
 * Follow and comment have no REST route: a browser sends them as one-mutation pushes of the sync
 * protocol, exactly as the phone would (docs/sync.md), under its own device id.
 */
async function pushOne(kind: string, payload: Record<string, unknown>): Promise<void> {
  const { device_id, device_seq } = nextDevice();
  const v = 1;
  const payload_sha256 = sha256Hex(new TextEncoder().encode(`${kind}\n${v}\n${canonicalJson(payload)}`));
  const mutation = {
    mutation_id: uuidv7(),
    device_id,
    device_seq,
    kind,
    v,
    payload,
    payload_sha256,
    client_time: new Date().toISOString(),
  };
  const answer = await serverJson<{ results: PushResult[] }>('/api/sync/push', {
    method: 'POST',
    json: { device_id, mutations: [mutation] },
  });
  const result = answer.results[0];
  if (result?.outcome === 'rejected') {
    throw new ApiProblem(result.code ?? 'rejected', result.message ?? 'rejected', {
      status: 200,
      title: result.message && result.message_ka ? { ka: result.message_ka, en: result.message } : null,
      errors: result.field ? [{ field: result.field, code: result.code ?? 'rejected', message: result.message ?? '' }] : [],
    });
  }
}

function noFix(lat: number, lon: number): boolean {
  return !Number.isFinite(lat) || !Number.isFinite(lon) || (Math.abs(lat) < 1e-6 && Math.abs(lon) < 1e-6);
}

/** The browser backend. */
export function httpBackend(): Backend {
  let categoriesCache: Promise<CategoryView[]> | null = null;
  let districtsCache: Promise<DistrictCollection | null> | null = null;

  return {
    kind: 'http',

    async account() {
      if (!localStorage.getItem(TOKEN_KEY)) return null;
      try {
        return toAccount(await serverJson<ServerAccount>('/api/me'));
      } catch (e) {
        if (e instanceof ApiProblem && e.status === 401) {
          localStorage.removeItem(TOKEN_KEY);
          return null;
        }
        throw e;
      }
    },

    async login(email, password) {
      const answer = await serverJson<{ token: string; user: ServerAccount }>('/api/auth/login', {
        method: 'POST',
        json: { email, password },
      });
      localStorage.setItem(TOKEN_KEY, answer.token);
      return toAccount(answer.user);
    },

    async logout() {
      try {
        if (localStorage.getItem(TOKEN_KEY)) await serverFetch('/api/auth/logout', { method: 'POST' });
      } catch {
        // Signing out locally is what matters; the session expires on the server anyway.
      }
      localStorage.removeItem(TOKEN_KEY);
    },

    async signup(input: SignUp) {
      const answer = await serverJson<{ token: string; user: ServerAccount }>('/api/auth/register', {
        method: 'POST',
        json: { email: input.email, password: input.password, display_name: input.displayName },
      });
      localStorage.setItem(TOKEN_KEY, answer.token);
      return toAccount(answer.user);
    },

    categories() {
      categoriesCache ??= serverJson<{ items: ServerCategory[] }>('/api/categories')
        .then((a) => a.items.filter((c) => c.active !== false).map((c) => ({ id: c.id, name: c.name, sla: c.sla })))
        .catch((e) => {
          categoriesCache = null;
          throw e;
        });
      return categoriesCache;
    },

    preview(category, location) {
      // The server's own routing and deadline code (`GET /api/preview`), the same the phone runs.
      const q = new URLSearchParams({ category, lat: String(location.lat), lon: String(location.lon) });
      return serverJson<Preview>(`/api/preview?${q}`);
    },

    districts() {
      districtsCache ??= serverJson<DistrictCollection>('/api/districts').catch(() => {
        districtsCache = null;
        return null;
      });
      return districtsCache;
    },

    async createReport(report: NewReport, onProgress?: ProgressFn): Promise<CreatedReport> {
      const form = new FormData();
      const id = uuidv7();
      const json = {
        id,
        category: report.category,
        location: report.location,
        description: report.description,
        ...(report.address ? { address: report.address } : {}),
        ...(report.hideName ? { hide_name: true } : {}),
      };
      form.append('report', new Blob([JSON.stringify(json)], { type: 'application/json' }));
      for (const photo of report.photos) form.append('photo', photo, photo.name || 'photo.jpg');
      const detail = await postForm<ServerReportDetail>('/api/reports', form, onProgress);
      return { id: detail.id ?? id, queued: false, preview: null };
    },

    async myReports() {
      const answer = await serverJson<{ items: ServerReportSummary[] }>('/api/me/reports');
      return answer.items.map((r) => toReportView(r, { mine: true }));
    },

    async report(id) {
      return toReportView(await serverJson<ServerReportDetail>(`/api/reports/${encodeURIComponent(id)}`));
    },

    async follow(id, follow) {
      await serverJson(`/api/reports/${encodeURIComponent(id)}/follow`, { method: follow ? 'POST' : 'DELETE' });
    },

    async dispute(id, reason) {
      await serverJson(`/api/reports/${encodeURIComponent(id)}/dispute`, { method: 'POST', json: { reason } });
    },

    async comment(id, text) {
      await pushOne('report.comment', { report_id: id, text });
    },

    async myTickets() {
      const answer = await serverJson<{ items: ServerReportSummary[] }>('/api/crew/tickets');
      return answer.items.map((r) => toReportView(r, { assigned_to_me: true }));
    },

    async closeTicket(id, input: CloseTicketInput, onProgress?: ProgressFn): Promise<CloseTicketResult> {
      // The REST route takes no per-photo location; the server judges proof by the report's place.
      const form = new FormData();
      if (input.note) {
        form.append('action', new Blob([JSON.stringify({ public_note: input.note })], { type: 'application/json' }));
      }
      for (const p of input.proofs) form.append('photo', p.photo, p.photo.name || 'proof.jpg');
      await postForm(`/api/crew/tickets/${encodeURIComponent(id)}/close`, form, onProgress);
      return { queued: false, warnings: [] };
    },

    map: httpMap,

    async syncStatus() {
      return null;
    },
    async syncNow() {
      return null;
    },
    async outbox() {
      return [];
    },
    async onSyncEvent() {
      return () => {};
    },

    currentPosition() {
      return new Promise<LatLon | null>((resolve) => {
        if (!('geolocation' in navigator)) {
          resolve(null);
          return;
        }
        navigator.geolocation.getCurrentPosition(
          (p) => resolve(noFix(p.coords.latitude, p.coords.longitude) ? null : { lat: p.coords.latitude, lon: p.coords.longitude }),
          () => resolve(null),
          { enableHighAccuracy: true, timeout: 8000, maximumAge: 60_000 },
        );
      });
    },

    async localThumbnail() {
      return null;
    },
  };
}

interface MapFeature {
  id?: string;
  geometry: { coordinates: [number, number] };
  properties: {
    cluster?: boolean;
    count?: number;
    number?: number | null;
    category?: { id: string; name?: { ka: string; en: string } };
    status?: ReportView['status'];
    overdue?: boolean;
    deadline?: string | null;
    created_at?: string;
  };
}

/** `GET /api/map/reports` as a `MapAnswer` (shared with the app, which calls the server too). */
export async function httpMap(q: MapQuery, signal?: AbortSignal): Promise<MapAnswer> {
  const params = new URLSearchParams({
    bbox: q.bbox.map((n) => n.toFixed(5)).join(','),
    zoom: String(Math.max(0, Math.min(22, Math.round(q.zoom)))),
  });
  if (q.categories.length) params.set('category', q.categories.join(','));
  if (q.statuses.length) params.set('status', q.statuses.join(','));
  if (q.from) params.set('from', q.from);
  if (q.to) params.set('to', q.to);
  if (!q.zoom || q.zoom >= 15) params.set('page_size', '1000');
  const answer = await serverJson<{ clustered: boolean; next_page?: number | null; features: MapFeature[] }>(
    `/api/map/reports?${params}`,
    { signal },
  );
  const clusters: MapAnswer['clusters'] = [];
  const points: MapAnswer['points'] = [];
  for (const f of answer.features) {
    const [lon, lat] = f.geometry.coordinates;
    if (f.properties.cluster) {
      clusters.push({ kind: 'cluster', lat, lon, count: f.properties.count ?? 0 });
    } else {
      points.push({
        kind: 'point',
        id: String(f.id),
        lat,
        lon,
        number: f.properties.number ?? null,
        category: f.properties.category ?? { id: '' },
        status: f.properties.status ?? 'submitted',
        overdue: f.properties.overdue ?? false,
        deadline: f.properties.deadline ?? null,
        created_at: f.properties.created_at ?? '',
      });
    }
  }
  return { clustered: answer.clustered, clusters, points, truncated: !!answer.next_page, offline: false };
}
