/// <reference types="svelte" />
/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** Map tile URL template (`{s}`, `{z}`, `{x}`, `{y}`); OpenStreetMap by default. */
  readonly VITE_TILE_URL?: string;
  /** Attribution shown for the tiles. */
  readonly VITE_TILE_ATTRIBUTION?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}

interface Window {
  /** Present inside the Tauri webview. */
  __TAURI_INTERNALS__?: unknown;
}
