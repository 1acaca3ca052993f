import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../../src/server/index.js';
import { recordStages } from '../../src/ledger/index.js';
import { quoteIdentifier } from '../../src/store/identifier.js';
import { buildDashboard, hasChromium, launchChromium, screenshots, signIn } from '../support/dashboard.js';
import { estateServer, startEstate, viewerToken, type Estate } from '../server/estate.js';

describe.skipIf(!hasChromium)('dashboard support view in headless Chromium', () => {
  let estate: Estate;
  let server: ControlPlane;
  let base: string;
  let built: string;
  let browser: Browser;

  beforeAll(async () => {
    built = await buildDashboard('tidemark-dashboard-support-');
    await mkdir(screenshots, { recursive: true });
    estate = await startEstate();
    server = await estateServer(estate, { dashboardDir: built });
    base = await server.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await estate?.stop();
    if (built) await rm(built, { recursive: true, force: true });
  });

  it('a viewer watches a customer’s badges change live as the address change matures', async () => {
    await estate.change('c-9', '9 Quay Lane');
    const page = await browser.newPage();
    await signIn(page, base, viewerToken, '(viewer)');
    await page.getByTestId('nav-support').click();
    await page.getByTestId('support-customer').fill('c-9');
    await page.getByTestId('support-open').click();

    const letter = page.getByTestId('badge-send-letter').locator('.text');
    const everywhere = page.getByTestId('badge-everywhere');
    // Communications runs in the estate: the letter becomes ready on its own.
    await expect.poll(() => letter.textContent(), { timeout: 30_000 }).toBe('ready for send-letter');
    // Policy and claims do not run here: the change waits for them until their stages arrive.
    await expect.poll(() => everywhere.getAttribute('state'), { timeout: 30_000 }).toBe('pending');
    const before = await everywhere.locator('.text').textContent();
    expect(before).toMatch(/^pending in /);
    await page.screenshot({ path: join(screenshots, 'support-1-pending.png') });

    const { t } = estate;
    for (const context of ['policy', 'claims'])
      await t.db.transaction((tx) =>
        recordStages(tx, quoteIdentifier(t.schema), [
          {
            entityType: 'customer',
            entityId: 'c-9',
            version: 1,
            context,
            stage: 'applied',
            authority: 'customer-profile',
          },
        ]),
      );
    await expect
      .poll(() => everywhere.locator('.text').textContent(), { timeout: 30_000 })
      .toBe('up to date everywhere');
    expect(await everywhere.getAttribute('state')).toBe('current');
    await page.screenshot({ path: join(screenshots, 'support-2-everywhere.png') });
    await page.close();
  }, 120_000);

  it('an unknown customer gets a clear message, not badges', async () => {
    const page = await browser.newPage();
    await signIn(page, base, viewerToken, '(viewer)');
    await page.goto(`${base}/#/support/nobody-here`);
    await page.getByTestId('support-error').waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('badge-everywhere').count()).toBe(0);
    await page.close();
  }, 60_000);
});
