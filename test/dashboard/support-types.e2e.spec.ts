import { rm } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { createServer, type ControlPlane } from '../../src/server/index.js';
import type { Topology } from '../../src/topology/index.js';
import { buildDashboard, hasChromium, launchChromium, signIn } from '../support/dashboard.js';
import { embeddedDb, type TestDb } from '../support/services.js';
import { demoTopology, tokens, viewerToken } from '../server/estate.js';

describe.skipIf(!hasChromium)('dashboard support view: entity types from the topology', () => {
  let t: TestDb;
  let server: ControlPlane;
  let base: string;
  let built: string;
  let browser: Browser;

  beforeAll(async () => {
    built = await buildDashboard('tidemark-dashboard-support-types-');
    t = await embeddedDb();
    const starter = demoTopology();
    // A second entity type with its own authority: the support view must offer both.
    const topology: Topology = {
      ...starter,
      contexts: [...starter.contexts, { ...starter.contexts[0]!, name: 'policy-admin' }],
      entityTypes: [
        ...starter.entityTypes,
        { name: 'policy', authority: 'policy-admin', description: 'An insurance policy.' },
      ],
    };
    for (const [entityType, context, id] of [
      ['customer', 'customer-profile', 'c-1'],
      ['policy', 'policy-admin', 'p-7'],
    ] as const) {
      await registerAuthority(t.db, { entityType, context }, t.schema);
      await t.db.transaction((tx) =>
        createProducer({ context, schema: t.schema }).append(
          tx,
          { type: entityType, id },
          { kind: 'state', type: `${entityType}.state`, data: {} },
        ),
      );
    }
    server = await createServer({
      db: t.db,
      schema: t.schema,
      topology,
      tokens,
      groupLag: false,
      lagSampleMs: 0,
      dashboardDir: built,
    });
    base = await server.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await t?.cleanup();
    if (built) await rm(built, { recursive: true, force: true });
  });

  it('offers the topology’s entity types and opens a policy’s badges', async () => {
    const page = await browser.newPage();
    await signIn(page, base, viewerToken, '(viewer)');
    await page.getByTestId('nav-support').click();
    const type = page.getByTestId('support-type');
    await type.waitFor({ timeout: 15_000 });
    expect(await type.locator('option').allTextContents()).toEqual(['customer', 'policy']);
    await type.selectOption('policy');
    expect(await page.getByTestId('support-customer').getAttribute('placeholder')).toBe('policy id');
    await page.getByTestId('support-customer').fill('p-7');
    await page.getByTestId('support-open').click();

    await expect
      .poll(() => page.getByTestId('support-entity').textContent(), { timeout: 15_000 })
      .toBe('Policy p-7 (version 1)');
    expect(page.url()).toMatch(/#\/support\/policy\/p-7$/);
    expect(await page.getByTestId('badge-everywhere').getAttribute('entity')).toBe('policy/p-7');
    expect(await page.getByTestId('support-type').inputValue()).toBe('policy');

    // An id alone still means the first declared type, as older links do.
    await page.goto(`${base}/#/support/c-1`);
    await expect
      .poll(() => page.getByTestId('support-entity').textContent(), { timeout: 15_000 })
      .toBe('Customer c-1 (version 1)');
    // A policy id under the customer type is not a customer: a clear message, no badges.
    await page.goto(`${base}/#/support/customer/p-7`);
    await page.getByTestId('support-error').waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('badge-everywhere').count()).toBe(0);
    await page.close();
  }, 120_000);
});
