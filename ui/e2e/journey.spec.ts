// The whole Fix-Tbilisi loop through the UI, three people in three browsers against the real
// server: a resident reports a broken bench in Gldani with a photo; Gldani's district staff find it
// in their queue, assign Gldani's crew and answer with a template; the crew closes it on site with
// a proof photo; anyone opening the public page sees the answer and both photos.
import { expect, test } from '@playwright/test';
import {
  DEMO_PASSWORD,
  GLDANI,
  api,
  expectAccessible,
  newContext,
  open,
  photo,
  signIn,
} from './support';

interface PublicReport {
  id: string;
  status: string;
  body: { id: string };
  photos: unknown[];
  proof_photos: unknown[];
  timeline: { action: string; public_note?: string | null }[];
}

test('a resident reports, staff assign and respond, a crew closes with proof, the public sees it all', async ({ browser }) => {
  const email = `nino.${Date.now()}@example.ge`;
  const description = 'სკამი გატეხილია, ფიცრები აკლია';

  // — The resident signs up on a phone and reports in a few taps after the photo.
  const resident = await newContext(browser, { phone: true, at: GLDANI });
  const phone = await resident.newPage();
  await open(phone, '/signup');
  await phone.getByTestId('signup-name').fill('ნინო ბერიძე');
  await phone.getByTestId('signup-email').fill(email);
  await phone.getByTestId('signup-password').fill('a long enough password');
  await phone.getByTestId('signup-submit').click();
  await expect(phone).not.toHaveURL(/#\/signup/);

  await phone.getByTestId('nav-report').click();
  await phone.getByTestId('report-photo').setInputFiles({
    name: 'bench.jpg',
    mimeType: 'image/jpeg',
    buffer: await photo(phone, 'bench before'),
  });
  let interactions = 0;
  await phone.getByTestId('category-park-benches').click();
  interactions++;
  // GPS gave a fix: the location is chosen without a tap.
  await expect(phone.getByTestId('report-location')).toContainText('41.80');
  await phone.getByTestId('report-description').fill(description);
  interactions++;
  // Where it goes and when it is due, before sending.
  await expect(phone.getByTestId('report-preview')).toContainText('გლდანის');
  await expectAccessible(phone, 'the filled report form (ka, phone)');
  await phone.getByTestId('report-submit').click();
  interactions++;
  expect(interactions, 'interactions after the photo').toBeLessThanOrEqual(5);

  const page = phone.getByTestId('report-page');
  await expect(page).toBeVisible();
  await expect(page).toHaveAttribute('data-status', /routed|submitted/);
  const id = /#\/reports\/([^/?]+)/.exec(phone.url())?.[1];
  expect(id, 'the report page names the report').toBeTruthy();
  const stored = await api<PublicReport>(`/api/reports/${id}`);
  expect(stored.body.id).toBe('gamgeoba-gldani');
  expect(stored.photos).toHaveLength(1);

  // — Gldani's district staff, on a desktop: the queue, assign the crew, answer with a template.
  const office = await newContext(browser, { lang: 'ka' });
  const desk = await office.newPage();
  await signIn(desk, 'gldani@demo.smartmap.ge', DEMO_PASSWORD.district_staff);
  await desk.getByTestId('nav-queue').click();
  const row = desk.locator(`[data-testid=queue-item][data-report-id="${id}"]`);
  await expect(row).toBeVisible();
  await expect(row).toHaveAttribute('data-due', 'ok');
  await expectAccessible(desk, 'the staff queue (ka, desktop)');
  await row.getByRole('link').first().click();

  await desk.getByTestId('action-acknowledge').click();
  await expect.poll(async () => (await api<PublicReport>(`/api/reports/${id}`)).status).toBe('acknowledged');
  const crewSelect = desk.getByTestId('assign-crew');
  const gldaniCrew = await crewSelect.locator('option', { hasText: 'გლდან' }).first().getAttribute('value');
  await crewSelect.selectOption(gldaniCrew!);
  await desk.getByTestId('assign-submit').click();
  await expect.poll(async () => (await api<PublicReport>(`/api/reports/${id}`)).status).toBe('in_progress');

  const template = desk.getByTestId('respond-template');
  await template.selectOption({ index: 1 });
  await expect(desk.getByTestId('respond-text')).not.toHaveValue('');
  const answer = await desk.getByTestId('respond-text').inputValue();
  await desk.getByTestId('respond-submit').click();
  await expect
    .poll(async () => (await api<PublicReport>(`/api/reports/${id}`)).timeline.some((e) => e.public_note === answer))
    .toBe(true);
  await expectAccessible(desk, 'the staff report page (ka, desktop)');

  // — Gldani's crew, on site (a few metres from the bench), closes it with a proof photo.
  const field = await newContext(browser, {
    phone: true,
    at: { latitude: GLDANI.latitude + 0.0002, longitude: GLDANI.longitude },
  });
  const crew = await field.newPage();
  await signIn(crew, 'crew-gamgeoba-gldani@demo.smartmap.ge', DEMO_PASSWORD.field_crew);
  await crew.getByTestId('nav-tickets').click();
  await crew.locator(`[data-testid=ticket-item][data-report-id="${id}"]`).getByRole('link').first().click();
  await crew.getByTestId('close-photo').setInputFiles({
    name: 'bench-fixed.jpg',
    mimeType: 'image/jpeg',
    buffer: await photo(crew, 'bench fixed'),
  });
  await crew.getByTestId('close-note').fill('ფიცრები შეიცვალა');
  await expectAccessible(crew, 'closing a ticket (ka, phone)');
  await crew.getByTestId('close-submit').click();
  await expect.poll(async () => (await api<PublicReport>(`/api/reports/${id}`)).status).toBe('fixed');

  // — Anyone: the public page shows the answer and the photos before and after.
  const street = await newContext(browser, { lang: 'en' });
  const visitor = await street.newPage();
  await open(visitor, `/reports/${id}`);
  const report = visitor.getByTestId('report-page');
  await expect(report).toHaveAttribute('data-status', 'fixed');
  await expect(report).toContainText(answer);
  await expect(report).toContainText(description);
  await expect(visitor.getByTestId('report-photo-before')).toBeVisible();
  await expect(visitor.getByTestId('report-photo-after')).toBeVisible();
  for (const img of await visitor.locator('[data-testid^=report-photo-] img, img[data-testid^=report-photo-]').all()) {
    // Real images, decoded by the browser, not broken links.
    expect(await img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth > 0)).toBe(true);
  }
  await expectAccessible(visitor, 'the public report page (en, desktop)');

  // — The resident's phone shows the same: fixed, with the proof.
  await phone.reload();
  await expect(phone.getByTestId('report-page')).toHaveAttribute('data-status', 'fixed');
  await expect(phone.getByTestId('report-photo-after')).toBeVisible();

  for (const context of [resident, office, field, street]) await context.close();
});
