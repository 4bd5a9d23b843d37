// Picks the backend once, at start-up: inside the Tauri webview the app's commands (offline
// mobile core), else the server's HTTP API at the page's own origin. Screens import `backend`
// from here and never know which one answered.
//
// Also exported for the staff screens: `serverFetch`/`serverJson` (direct server calls with the
// bearer token, in both modes) and `ApiProblem` (problem+json errors with `code`, `title`,
// field `errors`).

import type { Backend } from './backend';
import { httpBackend } from './http';
import { tauriBackend } from './tauri';
import { invoke } from '@tauri-apps/api/core';
import { TOKEN_KEY, initMediaBase, setTransport } from './transport';
import type { AppInfo } from './types';

export type { Backend, SignUp } from './backend';
export { ApiProblem, asProblem, type FieldProblem } from './problem';
export { serverFetch, serverJson, serverUrl, mediaUrl } from './transport';
export * from './types';

/** Running inside the Tauri app. */
export const inTauri = typeof window !== 'undefined' && window.__TAURI_INTERNALS__ !== undefined;

let appInfo: Promise<AppInfo> | null = null;
/** `app_info` of the shell (the app only). */
export function getAppInfo(): Promise<AppInfo> {
  appInfo ??= invoke<AppInfo>('app_info');
  return appInfo;
}

if (inTauri) {
  setTransport({
    base: async () => (await getAppInfo()).server_url.replace(/\/+$/, ''),
    token: async () => {
      try {
        return await invoke<string | null>('access_token');
      } catch {
        return null;
      }
    },
  });
} else {
  setTransport({ base: async () => '', token: async () => localStorage.getItem(TOKEN_KEY) });
}
void initMediaBase().catch(() => {});

/** The backend of this run. */
export const backend: Backend = inTauri ? tauriBackend() : httpBackend();
