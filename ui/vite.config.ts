import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// `base: './'`: the same build is served at `/` by the server and from the Tauri bundle.
// The dev server proxies the API and photos to a running server (SMARTMAP_SERVER_URL, default
// the demo server on 127.0.0.1:8080), so `npm run dev` works against real data.
const server = process.env.SMARTMAP_SERVER_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  base: './',
  plugins: [svelte()],
  clearScreen: false,
  server: {
    port: 5173,
    strictPort: true,
    proxy: {
      '/api': server,
      '/media': server,
      '/open311': server,
    },
  },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 400,
  },
});
