// Starts the real server once for the whole run: `smartmap serve` on port 0, a fresh SQLite
// database in a temp folder, demo data (accounts of every role, ~500 reports), the UI from
// ui/dist. The URL reaches the tests through SMARTMAP_URL.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(new URL('.', import.meta.url));

export default async function globalSetup(): Promise<() => Promise<void>> {
  const bin = process.env.SMARTMAP_BIN ?? resolve(HERE, '../../target/debug/smartmap');
  const data = mkdtempSync(join(tmpdir(), 'smartmap-e2e-'));
  const server = spawn(bin, ['serve'], {
    env: {
      ...process.env,
      SMARTMAP__BIND: '127.0.0.1:0',
      SMARTMAP__DATA_DIR: data,
      SMARTMAP__UI_DIR: resolve(HERE, '../dist'),
      RUST_LOG: process.env.RUST_LOG ?? 'smartmap_server=warn',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolveUrl, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`the server did not start in 120 s:\n${seen}`)), 120_000);
    server.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const found = /running at (http:\/\/[^\s/]+)\//.exec(seen);
      if (found) {
        clearTimeout(timer);
        resolveUrl(found[1]);
      }
    });
    server.on('exit', (code) => reject(new Error(`the server exited (${code}) before it listened:\n${seen}`)));
  });
  server.stdout.resume();
  process.env.SMARTMAP_URL = url;
  process.env.SMARTMAP_E2E_DATA = data;
  return async () => {
    server.kill('SIGINT');
    await new Promise((done) => server.once('exit', done));
    rmSync(data, { recursive: true, force: true });
  };
}
