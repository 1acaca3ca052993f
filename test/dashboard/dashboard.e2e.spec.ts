import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../../src/server/index.js';
import { buildDashboard, hasChromium, openBrowser, screenshots, signIn } from '../support/dashboard.js';
import { waitUntil } from '../support/wait.js';
import {
  asViewer,
  estateServer,
  operatorToken,
  startEstate,
  viewerToken,
  type Estate,
} from '../server/estate.js';

describe.skipIf(!hasChromium)('dashboard in headless Chromium', () => {
  let estate: Estate;
  let server: ControlPlane;
  let base: string;
  let built: string;
  let head: { id: number };
  const profiles: string[] = [];
  const browsers: BrowserContext[] = [];

  beforeAll(async () => {
    built = await buildDashboard('tidemark-dashboard-');
    await mkdir(screenshots, { recursive: true });
    estate = await startEstate();
    server = await estateServer(estate, { dashboardDir: built, lagSampleMs: 250 });
    base = await server.listen({ host: '127.0.0.1', port: 0 });
    await estate.change('c-1', '1 Harbour Road');
    await estate.change('c-2', 'POISON');
    await estate.change('c-2', '2 Dock Street');
    const active = async () =>
      (await server.app.inject({ url: '/api/dead-letters', headers: asViewer })).json().deadLetters as {
        id: number;
        status: string;
      }[];
    await waitUntil(async () => (await active()).length, 2, 20_000, 'the poisoned key to park');
    head = (await active()).find((d) => d.status === 'open')!;
    await waitUntil(
      async () =>
        (
          await server.app.inject({
            url: '/api/entities/customer/c-1/readiness/send-letter',
            headers: asViewer,
          })
        ).json().ready,
      true,
      20_000,
      'communications to apply c-1',
    );
  }, 120_000);
  afterAll(async () => {
    for (const browser of browsers) await browser.close().catch(() => undefined);
    await server?.close();
    await estate?.stop();
    for (const dir of [...profiles, built]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('serves the built dashboard without any CDN', async () => {
    const html = await (await fetch(`${base}/`)).text();
    expect(html).toMatch(/<script type="module" crossorigin src="\.\/assets\/index-[\w-]+\.js">/);
    expect(html).not.toMatch(/https?:\/\//);
  });

  it('a viewer sees the topology and the dead letters, gets no action buttons, and a 403 when it tries', async () => {
    const browser = await openBrowser(profiles);
    browsers.push(browser);
    const page = await browser.newPage();
    await signIn(page, base, viewerToken);
    await page.getByTestId('topology-graph').waitFor();
    await page.getByTestId('nav-dead-letters').click();
    await page.getByTestId(`dead-letter-billing-${head.id}`).waitFor();
    expect(await page.locator('button[data-testid^="retry-"], button[data-testid^="skip-"]').count()).toBe(0);
    expect(await page.getByTestId('dlq-reason').count()).toBe(0);
    await page.screenshot({ path: join(screenshots, 'viewer-dead-letters.png'), fullPage: true });
    const attempt = await page.evaluate(
      async ({ id, token }) => {
        const res = await fetch(`/api/consumers/billing/dead-letters/${id}/retry`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ reason: 'I would like to help' }),
        });
        return { status: res.status, type: res.headers.get('content-type'), body: await res.json() };
      },
      { id: head.id, token: viewerToken },
    );
    expect(attempt.status).toBe(403);
    expect(attempt.type).toContain('application/problem+json');
    expect(attempt.body.code).toBe('TM_FORBIDDEN');
    const still = (
      await server.app.inject({ url: `/api/consumers/billing/dead-letters/${head.id}`, headers: asViewer })
    ).json();
    expect(still.status).toBe('open');
  });

  it('an operator signs in, sees the demo topology coloured by lag, and reads an entity’s readiness', async () => {
    const browser = await openBrowser(profiles);
    browsers.push(browser);
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    await page.getByTestId('token').fill('wrong-token');
    await page.getByTestId('sign-in').click();
    await page.getByText(/Missing or unknown bearer token/).waitFor();
    await signIn(page, base, operatorToken);
    expect(await page.getByTestId('who').textContent()).toContain('olga (operator)');
    for (const context of ['customer-profile', 'billing', 'policy', 'claims', 'communications']) {
      await page.getByTestId(`context-${context}`).waitFor();
    }
    expect(await page.getByTestId('context-billing').getAttribute('data-health')).toBe(
      'stuck (dead letters)',
    );
    expect(await page.getByTestId('flow-customer-to-billing').textContent()).toContain('1 / 1');
    await page.screenshot({ path: join(screenshots, 'topology.png'), fullPage: true });

    await page.getByTestId('nav-entities').click();
    await page.getByTestId('entity-id').fill('c-1');
    await page.getByTestId('open-entity').click();
    await page.getByTestId('entity-title').getByText('customer/c-1').waitFor();
    const sendLetter = page.getByTestId('readiness-send-letter');
    expect(await sendLetter.getAttribute('data-ready')).toBe('true');
    expect(await sendLetter.textContent()).toContain('ready');
    expect(await page.getByTestId('timeline').textContent()).toContain('applied');
    await page.screenshot({ path: join(screenshots, 'entity.png'), fullPage: true });

    await page.getByTestId('nav-reconciliation').click();
    await page.getByTestId('reconciliation-billing').getByText('No reconciliation runs yet.').waitFor();
  });

  it('an operator retries the parked head with a reason and watches the key un-park', async () => {
    const browser = await openBrowser(profiles);
    browsers.push(browser);
    const page = await browser.newPage();
    await signIn(page, base, operatorToken);
    await page.getByTestId('nav-dead-letters').click();
    const row = page.getByTestId(`dead-letter-billing-${head.id}`);
    await row.waitFor();
    expect(await row.getAttribute('data-status')).toBe('open');
    await page.screenshot({ path: join(screenshots, 'operator-dead-letters.png'), fullPage: true });

    await page.getByTestId(`retry-${head.id}`).click();
    await page.getByText(/needs a reason|must NOT have fewer than 3 characters/).waitFor();

    estate.heal();
    await page.getByTestId('dlq-reason').fill('address parser fixed in 1.4');
    await page.getByTestId(`retry-${head.id}`).click();
    await page.getByTestId('dlq-empty').waitFor({ timeout: 20_000 });
    await page.screenshot({ path: join(screenshots, 'un-parked.png'), fullPage: true });

    await page.getByTestId('nav-audit').click();
    await page.getByTestId('audit').getByText('address parser fixed in 1.4').waitFor();
    await page.getByTestId('nav-topology').click();
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="context-billing"]')?.getAttribute('data-health') ===
        'up to date',
      undefined,
      { timeout: 20_000 },
    );
  });
});
