// The screen tour: every screen, in Georgian and in English, phone-sized and desktop-sized, as
// the role that uses it. Each one is screenshot into target/screenshots/browser/ (to look at) and
// checked by axe-core for WCAG 2.2 A/AA violations (none allowed). Demo data gives every screen
// something real to show.
import { expect, test, type Page } from '@playwright/test';
import { DEMO_PASSWORD, GLDANI, api, apiToken, expectAccessible, newContext, open, screenshot, signIn } from './support';

interface Feature {
  id?: string;
}

const CITY = '44.60,41.60,45.05,41.85';

async function fixedReportWithProof(): Promise<string> {
  const map = await api<{ features: Feature[] }>(`/api/map/reports?bbox=${CITY}&zoom=18&status=fixed&page_size=200`);
  for (const f of map.features) {
    if (!f.id) continue;
    const report = await api<{ photos: unknown[]; proof_photos: unknown[] }>(`/api/reports/${f.id}`);
    if (report.photos.length > 0 && report.proof_photos.length > 0) return f.id;
  }
  throw new Error('the demo data has no fixed report with photos before and after');
}

/** Waits until the screen has settled: its heading is shown and no loading indicator remains. */
async function settled(page: Page): Promise<void> {
  await expect(page.locator('main h1').first()).toBeVisible();
  await expect(page.locator('[aria-busy=true]')).toHaveCount(0, { timeout: 15_000 });
}

for (const lang of ['ka', 'en'] as const) {
  for (const size of ['phone', 'desktop'] as const) {
    test(`every screen in ${lang} on a ${size}: screenshot, no axe violations`, async ({ browser }) => {
      test.setTimeout(180_000);
      const phone = size === 'phone';
      const shot = async (page: Page, name: string) => {
        await settled(page);
        await screenshot(page, `${lang}/${size}/${name}`);
        await expectAccessible(page, `${name} (${lang}, ${size})`);
        // Georgian is never uppercased, by the text or by CSS.
        if (lang === 'ka') {
          const upper = await page.evaluate(() =>
            [...document.querySelectorAll('body *')].filter((el) => getComputedStyle(el).textTransform === 'uppercase').length,
          );
          expect(upper, 'elements with text-transform: uppercase').toBe(0);
        }
      };

      const fixed = await fixedReportWithProof();

      // Anyone.
      const anyone = await newContext(browser, { lang, phone });
      const visitor = await anyone.newPage();
      await open(visitor, '/');
      await expect(visitor.locator('.leaflet-container')).toBeVisible();
      await shot(visitor, '01-map');
      await open(visitor, `/reports/${fixed}`);
      await expect(visitor.getByTestId('report-photo-after')).toBeVisible();
      await shot(visitor, '02-report-page');
      await open(visitor, '/login');
      await shot(visitor, '03-login');
      await open(visitor, '/signup');
      await shot(visitor, '04-signup');
      await anyone.close();

      // A resident.
      const residents = await newContext(browser, { lang, phone, at: GLDANI });
      const resident = await residents.newPage();
      await signIn(resident, 'resident@demo.smartmap.ge', DEMO_PASSWORD.resident);
      await open(resident, '/report');
      await shot(resident, '05-report-new');
      await resident.getByTestId('category-park-benches').click();
      await expect(resident.getByTestId('report-preview')).toBeVisible();
      await shot(resident, '06-report-new-filled');
      await open(resident, '/mine');
      await expect(resident.getByTestId('report-item').first()).toBeVisible();
      await shot(resident, '07-mine');
      await open(resident, '/account');
      await shot(resident, '08-account');
      await residents.close();

      // A field crew.
      const crewToken = await apiToken('crew@demo.smartmap.ge', DEMO_PASSWORD.field_crew);
      const tickets = await api<{ id: string }[] | { items: { id: string }[] }>('/api/crew/tickets', { token: crewToken });
      const ticketList = Array.isArray(tickets) ? tickets : tickets.items;
      const crews = await newContext(browser, { lang, phone, at: GLDANI });
      const crew = await crews.newPage();
      await signIn(crew, 'crew@demo.smartmap.ge', DEMO_PASSWORD.field_crew);
      await open(crew, '/tickets');
      await shot(crew, '09-tickets');
      expect(ticketList.length, 'the demo crew has open tickets').toBeGreaterThan(0);
      await open(crew, `/tickets/${ticketList[0].id}`);
      await shot(crew, '10-close-ticket');
      await crews.close();

      // District staff.
      const offices = await newContext(browser, { lang, phone });
      const staff = await offices.newPage();
      await signIn(staff, 'gldani@demo.smartmap.ge', DEMO_PASSWORD.district_staff);
      await open(staff, '/staff');
      await expect(staff.getByTestId('queue-item').first()).toBeVisible();
      await shot(staff, '11-staff-queue');
      const first = await staff.getByTestId('queue-item').first().getAttribute('data-report-id');
      await open(staff, `/staff/reports/${first}`);
      await shot(staff, '12-staff-report');
      await open(staff, '/staff/dashboard');
      await expect(staff.getByTestId('dashboard')).toBeVisible();
      await shot(staff, '13-staff-dashboard');
      await offices.close();
    });
  }
}
