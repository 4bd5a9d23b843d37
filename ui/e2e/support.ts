// What every browser end-to-end test shares: the server's URL, signing in through the UI, a real
// JPEG drawn by the browser itself, the accessibility check, and screenshots for the tour.
import AxeBuilder from '@axe-core/playwright';
import { expect, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(new URL('.', import.meta.url));

export const DEMO_PASSWORD = {
  resident: 'tbilisi-resident',
  field_crew: 'tbilisi-field-crew',
  district_staff: 'tbilisi-district-staff',
  admin: 'tbilisi-admin',
} as const;

/** A point in Gldani (the demo polygons): park benches there go to Gldani's administration. */
export const GLDANI = { latitude: 41.8027, longitude: 44.8291 };

export function serverUrl(): string {
  const url = process.env.SMARTMAP_URL;
  if (!url) throw new Error('SMARTMAP_URL is not set: the global setup starts the server');
  return url;
}

/**
 * A browser context like a resident's phone or a clerk's desktop, in one language, with the
 * geolocation the test chooses. Map tiles come from the internet, which CI does not have: they are
 * refused at once, as a phone without data would see them, and the UI must cope.
 */
export async function newContext(
  browser: Browser,
  opts: { lang?: 'ka' | 'en'; phone?: boolean; at?: { latitude: number; longitude: number } } = {},
): Promise<BrowserContext> {
  const context = await browser.newContext({
    viewport: opts.phone ? { width: 390, height: 844 } : { width: 1280, height: 800 },
    deviceScaleFactor: 1,
    isMobile: opts.phone ?? false,
    hasTouch: opts.phone ?? false,
    geolocation: opts.at,
    permissions: opts.at ? ['geolocation'] : [],
    locale: opts.lang === 'en' ? 'en-GB' : 'ka-GE',
  });
  await context.route(/tile\.openstreetmap\.org/, (route) => route.abort('internetdisconnected'));
  if (opts.lang) {
    const lang = opts.lang;
    await context.addInitScript((l) => localStorage.setItem('smartmap.lang', l), lang);
  }
  return context;
}

export async function open(page: Page, hashPath: string): Promise<void> {
  await page.goto(`${serverUrl()}/#${hashPath}`);
}

/** Signs in through the sign-in screen and waits until the account is shown. */
export async function signIn(page: Page, email: string, password: string): Promise<void> {
  await open(page, '/login');
  await page.getByTestId('login-email').fill(email);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
  await expect(page.getByTestId('nav-account')).toBeVisible();
  await expect(page).not.toHaveURL(/#\/login/);
}

/** A real camera-like JPEG (a gradient and a label), drawn and encoded by the browser. */
export async function photo(page: Page, label: string, width = 1600, height = 1200): Promise<Buffer> {
  const dataUrl = await page.evaluate(
    ({ label, width, height }) => {
      const canvas = document.createElement('canvas');
      canvas.width = width;
      canvas.height = height;
      const g = canvas.getContext('2d')!;
      const gradient = g.createLinearGradient(0, 0, width, height);
      gradient.addColorStop(0, '#4a6b3a');
      gradient.addColorStop(1, '#c9b98f');
      g.fillStyle = gradient;
      g.fillRect(0, 0, width, height);
      g.fillStyle = '#222';
      g.font = `${Math.round(height / 8)}px sans-serif`;
      g.fillText(label, width / 10, height / 2);
      return canvas.toDataURL('image/jpeg', 0.9);
    },
    { label, width, height },
  );
  return Buffer.from(dataUrl.split(',')[1], 'base64');
}

/** No WCAG 2.2 A/AA violation that axe-core can find on the page as it is now. */
export async function expectAccessible(page: Page, what: string): Promise<void> {
  const result = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'])
    .analyze();
  const found = result.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join('\n    ')}`,
  );
  expect(found, `axe-core on ${what}`).toEqual([]);
}

/** Saves a full-page screenshot under target/screenshots/browser/. */
export async function screenshot(page: Page, name: string): Promise<void> {
  const path = resolve(HERE, '../../target/screenshots/browser', `${name}.png`);
  mkdirSync(dirname(path), { recursive: true });
  await page.screenshot({ path, fullPage: true });
}

/** The API as a test client (for set-up and for checking what the server stored). */
export async function api<T>(path: string, init: { method?: string; token?: string; body?: unknown } = {}): Promise<T> {
  const response = await fetch(`${serverUrl()}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
  });
  if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

export async function apiToken(email: string, password: string): Promise<string> {
  const answer = await api<{ token: string }>('/api/auth/login', { method: 'POST', body: { email, password } });
  return answer.token;
}
