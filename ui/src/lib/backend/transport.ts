// `serverFetch`: a direct HTTP call to the server in both modes. In a browser the server is the
// page's own origin and the token is the browser session's; in the app the server URL comes
// from `app_info` and the token from the `access_token` command (refreshed by the core).

import { ApiProblem, problemFrom } from './problem';

interface Transport {
  /** Server origin without a trailing slash ('' = the page's own origin). */
  base: () => Promise<string>;
  /** A bearer token, or null when signed out / offline. */
  token: () => Promise<string | null>;
}

let transport: Transport = {
  base: async () => '',
  token: async () => localStorage.getItem(TOKEN_KEY),
};

/** Where a browser keeps its session token. */
export const TOKEN_KEY = 'smartmap.token';

/** Set once at start-up by `index.ts`. */
export function setTransport(t: Transport): void {
  transport = t;
}

/** Absolute URL of a server path (`/media/…`, `/api/…`). */
export async function serverUrl(path: string): Promise<string> {
  if (/^(https?:|data:|blob:)/.test(path)) return path;
  return (await transport.base()) + path;
}

/** The server's base URL, once known (for `<img src>` of `/media/…` paths). */
let knownBase = '';
export function mediaUrl(path: string): string {
  if (/^(https?:|data:|blob:)/.test(path)) return path;
  return knownBase + path;
}
export async function initMediaBase(): Promise<void> {
  knownBase = await transport.base();
}

/**
 * `fetch` against the server: prefixes the server URL, adds the bearer token, and turns a
 * failed answer (problem+json or not) into an `ApiProblem`. Network failures are
 * `ApiProblem('network')`. Returns the `Response` of a successful call.
 */
export async function serverFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has('authorization')) {
    const token = await transport.token();
    if (token) headers.set('authorization', `Bearer ${token}`);
  }
  if (!headers.has('accept')) headers.set('accept', 'application/json, application/problem+json');
  let response: Response;
  try {
    response = await fetch(await serverUrl(path), { ...init, headers });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiProblem('network', e instanceof Error ? e.message : String(e));
  }
  if (!response.ok) throw await problemFrom(response);
  return response;
}

/** `serverFetch` + JSON body in, JSON out. */
export async function serverJson<T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  let body = rest.body;
  if (json !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(json);
  }
  const response = await serverFetch(path, { ...rest, headers, body });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}
