import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type ControlPlane } from '../../src/server/index.js';
import { recordStages } from '../../src/ledger/index.js';
import { quoteIdentifier } from '../../src/store/identifier.js';
import { startEstate, tokens, viewerToken, type Estate } from '../server/estate.js';

const chromiumPath = '/usr/bin/chromium';
const screenshots = fileURLToPath(new URL('../../test-output/dashboard/', import.meta.url));

describe.skipIf(!existsSync(chromiumPath))('dashboard support view in headless Chromium', () => {
  let estate: Estate;
  let server: ControlPlane;
  let base: string;
  let built: string;
  let browser: Browser;

  beforeAll(async () => {
    built = await mkdtemp(join(tmpdir(), 'tidemark-dashboard-support-'));
    await build({
      configFile: fileURLToPath(new URL('../../src/dashboard/vite.config.ts', import.meta.url)),
      build: { outDir: built, emptyOutDir: true },
      logLevel: 'error',
    });
    await mkdir(screenshots, { recursive: true });
    estate = await startEstate();
    server = await createServer({
      db: estate.t.db,
      schema: estate.t.schema,
      topology: estate.topology,
      tokens,
      dashboardDir: built,
    });
    base = await server.listen({ host: '127.0.0.1', port: 0 });
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
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
    await page.goto(`${base}/`);
    await page.getByTestId('token').fill(viewerToken);
    await page.getByTestId('sign-in').click();
    await page.getByTestId('who').getByText('(viewer)').waitFor({ timeout: 15_000 });
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
    await page.goto(`${base}/`);
    await page.getByTestId('token').fill(viewerToken);
    await page.getByTestId('sign-in').click();
    await page.getByTestId('who').getByText('(viewer)').waitFor({ timeout: 15_000 });
    await page.goto(`${base}/#/support/nobody-here`);
    await page.getByTestId('support-error').waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('badge-everywhere').count()).toBe(0);
    await page.close();
  }, 60_000);
});
