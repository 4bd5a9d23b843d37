// The size budget: the JavaScript a first visit to the map downloads is at most 200 KB
// gzipped (map tiles and fonts excluded). Measured on what the browser really fetched, each script
// gzipped at level 9 as a server would send it.
import { expect, test } from '@playwright/test';
import { gzipSync } from 'node:zlib';
import { newContext, open } from './support';

test('the first visit downloads at most 200 KB of gzipped JavaScript', async ({ browser }) => {
  const context = await newContext(browser, { phone: true });
  const page = await context.newPage();
  const scripts = new Map<string, number>();
  page.on('response', async (response) => {
    const type = response.headers()['content-type'] ?? '';
    if (!type.includes('javascript')) return;
    const body = await response.body();
    scripts.set(response.url(), gzipSync(body, { level: 9 }).length);
  });
  await open(page, '/');
  await expect(page.locator('.leaflet-container')).toBeVisible();
  await page.waitForLoadState('networkidle');
  const total = [...scripts.values()].reduce((a, b) => a + b, 0);
  console.log(
    `initial JS: ${(total / 1024).toFixed(1)} KB gzipped in ${scripts.size} files\n` +
      [...scripts].map(([url, n]) => `  ${(n / 1024).toFixed(1)} KB  ${new URL(url).pathname}`).join('\n'),
  );
  expect(scripts.size).toBeGreaterThan(0);
  expect(total).toBeLessThanOrEqual(200 * 1024);
  await context.close();
});
