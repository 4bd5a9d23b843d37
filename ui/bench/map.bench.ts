// Benchmark (not a test): is the map responsive with 10 000 reports? Run with `npm run bench:map`
// after `cargo build --bin smartmap` and `npm run build` (or `cargo xtask bench-map`).
//
// The real server (demo data) gets reports posted through its API until the city holds 10 000.
// Then, in Debian's Chromium on a phone-sized page, the same walk over the map (zoom in step by
// step from the whole city to street level, pan, zoom back out) runs twice (keys on the UI; the
// same zoomIn/zoomOut/panBy calls by script on the baseline page):
// - the UI: clusters from the server below zoom 15, canvas points above;
// - the baseline: a plain Leaflet page drawing all 10 000 reports as ordinary markers, no
//   clustering (what a naive map does).
// Measured in the page: time to the first complete map, each step's latency (key press → the map
// drawn again), the longest frame, and total blocking time (long tasks' time over 50 ms).
import { expect, test, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { api, apiToken, newContext, open, serverUrl } from '../e2e/support';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(new URL('.', import.meta.url));

const TARGET = Number(process.env.MAP_REPORTS ?? 10_000);
const CATEGORIES = ['street-lighting', 'trees-greenery', 'park-benches', 'cleaning'];
const CITY = '44.60,41.60,45.05,41.85';

async function count(): Promise<number> {
  const stats = await api<{ features: { properties: { count?: number } }[] }>(`/api/map/reports?bbox=${CITY}&zoom=3`);
  return stats.features.reduce((n, f) => n + (f.properties.count ?? 0), 0);
}

/** Posts reports at random places in the city (those outside every district are refused). */
async function fill(): Promise<void> {
  const token = await apiToken('resident@demo.smartmap.ge', 'tbilisi-resident');
  let have = await count();
  let seed = 42;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  while (have < TARGET) {
    const batch = Math.min(64, TARGET - have);
    const answers = await Promise.all(
      Array.from({ length: batch }, async (_, i) => {
        const response = await fetch(`${serverUrl()}/api/reports`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            category: CATEGORIES[i % CATEGORIES.length],
            location: { lat: 41.68 + random() * 0.13, lon: 44.72 + random() * 0.2 },
            description: `benchmark report ${have + i}`,
          }),
        });
        return response.status;
      }),
    );
    have += answers.filter((s) => s === 201 || s === 200).length;
  }
  console.log(`reports on the map: ${await count()}`);
}

/** Starts recording frames and long tasks in the page. */
async function record(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as any;
    w.__bench = { frames: [] as number[], longTasks: [] as number[] };
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.__bench.longTasks.push(e.duration);
    }).observe({ type: 'longtask', buffered: false });
    let last = performance.now();
    const tick = (now: number) => {
      w.__bench.frames.push(now - last);
      last = now;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
}

async function summary(page: Page): Promise<{ maxFrame: number; tbt: number }> {
  return page.evaluate(() => {
    const b = (window as any).__bench;
    return {
      maxFrame: Math.max(...b.frames),
      tbt: b.longTasks.reduce((s: number, d: number) => s + Math.max(0, d - 50), 0),
    };
  });
}

/** The walk: city → street level and back, with pans; each step waits for `drawn(n)`. */
const STEPS = ['+', '+', '+', 'ArrowRight', 'ArrowDown', '+', 'ArrowLeft', '-', '-', '-', '-', 'ArrowUp'];

async function walk(page: Page, drawCount: () => Promise<number>, byScript = false): Promise<number[]> {
  const latencies: number[] = [];
  await page.locator('.leaflet-container').first().focus();
  for (const key of STEPS) {
    const before = await drawCount();
    const start = Date.now();
    if (byScript) {
      // The baseline page's own `map`: the same steps Leaflet's keyboard handler takes.
      await page.evaluate((k) => {
        const m = (globalThis as any).map;
        if (k === '+') m.zoomIn();
        else if (k === '-') m.zoomOut();
        else m.panBy({ ArrowRight: [80, 0], ArrowLeft: [-80, 0], ArrowDown: [0, 80], ArrowUp: [0, -80] }[k]);
      }, key);
    } else {
      await page.keyboard.press(key);
    }
    await expect.poll(drawCount, { timeout: 120_000, intervals: [5] }).toBeGreaterThan(before);
    latencies.push(Date.now() - start);
  }
  return latencies;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

test('map with 10 000 reports: the UI (clustered) against plain markers', async ({ browser }) => {
  test.setTimeout(900_000);
  await fill();

  // The UI.
  const uiContext = await newContext(browser, { phone: true });
  const ui = await uiContext.newPage();
  let start = Date.now();
  await open(ui, '/');
  const uiDrawn = async () => Number((await ui.locator('[data-drawn]').first().getAttribute('data-drawn')) ?? 0);
  await expect.poll(uiDrawn, { timeout: 60_000, intervals: [5] }).toBeGreaterThan(0);
  const uiFirst = Date.now() - start;
  await record(ui);
  const uiSteps = await walk(ui, uiDrawn);
  const uiFrames = await summary(ui);
  await uiContext.close();

  // The baseline: every report as a Leaflet marker, on the same server and Leaflet version.
  const leaflet = resolve(HERE, '../node_modules/leaflet/dist');
  const baseContext = await newContext(browser, { phone: true });
  await baseContext.route('**/bench/leaflet.js', (r) => r.fulfill({ body: readFileSync(`${leaflet}/leaflet.js`), contentType: 'text/javascript' }));
  await baseContext.route('**/bench/leaflet.css', (r) => r.fulfill({ body: readFileSync(`${leaflet}/leaflet.css`), contentType: 'text/css' }));
  await baseContext.route('**/bench/baseline.html', (r) =>
    r.fulfill({
      contentType: 'text/html',
      body: `<!doctype html><html lang="en"><head><link rel="stylesheet" href="leaflet.css"><script src="leaflet.js"></script>
<style>html,body,#map{height:100%;margin:0}</style></head><body><div id="map" data-drawn="0"></div><script>
window.map = L.map('map').setView([41.7151, 44.8271], 11);
const el = document.getElementById('map');
(async () => {
  let points = [];
  for (let page = 1; ; page++) {
    const r = await fetch('/api/map/reports?bbox=${CITY}&zoom=18&page_size=1000&page=' + page).then((r) => r.json());
    points = points.concat(r.features);
    if (!r.next_page) break;
  }
  for (const f of points) L.marker([f.geometry.coordinates[1], f.geometry.coordinates[0]]).addTo(map);
  el.dataset.points = points.length;
  el.dataset.drawn = '1';
  map.on('moveend', () => requestAnimationFrame(() => { el.dataset.drawn = String(Number(el.dataset.drawn) + 1); }));
})();
</script></body></html>`,
    }),
  );
  const base = await baseContext.newPage();
  start = Date.now();
  await base.goto(`${serverUrl()}/bench/baseline.html`);
  const baseDrawn = async () => Number((await base.locator('#map').getAttribute('data-drawn')) ?? 0);
  await expect.poll(baseDrawn, { timeout: 300_000, intervals: [5] }).toBeGreaterThan(0);
  const baseFirst = Date.now() - start;
  const basePoints = await base.locator('#map').getAttribute('data-points');
  await record(base);
  const baseSteps = await walk(base, baseDrawn, true);
  const baseFrames = await summary(base);
  await baseContext.close();

  const row = (name: string, first: number, steps: number[], f: { maxFrame: number; tbt: number }) =>
    `${name.padEnd(28)} first map ${String(first).padStart(6)} ms | step median ${String(median(steps)).padStart(5)} ms, max ${String(Math.max(...steps)).padStart(5)} ms | longest frame ${f.maxFrame.toFixed(0).padStart(5)} ms | blocking ${f.tbt.toFixed(0).padStart(6)} ms`;
  console.log(
    [
      `map benchmark, ${await count()} reports (baseline drew ${basePoints} markers), ${STEPS.length} keyboard steps`,
      row('UI (server clusters)', uiFirst, uiSteps, uiFrames),
      row('baseline (10 000 markers)', baseFirst, baseSteps, baseFrames),
      `ratios UI/baseline: first map ${(uiFirst / baseFirst).toFixed(3)}×, step median ${(median(uiSteps) / median(baseSteps)).toFixed(3)}×, ` +
        `longest frame ${(uiFrames.maxFrame / baseFrames.maxFrame).toFixed(3)}×, blocking ${(uiFrames.tbt / Math.max(1, baseFrames.tbt)).toFixed(3)}×`,
    ].join('\n'),
  );
});
