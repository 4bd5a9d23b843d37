// Browser end-to-end tests: Debian's Chromium (never a downloaded browser) against the real
// server binary, which `e2e/server.ts` starts on a fresh SQLite database with demo data.
// Run with `cargo xtask e2e` (or `npm run e2e` once `SMARTMAP_BIN` points at the server).
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: './e2e',
  globalSetup: './e2e/global-setup.ts',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  // The journeys share one server and build on what they create; the screen tour reads it.
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  outputDir: '../target/e2e-results',
  use: {
    headless: true,
    locale: 'ka-GE',
    timezoneId: 'Asia/Tbilisi',
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.SMARTMAP_CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
});
