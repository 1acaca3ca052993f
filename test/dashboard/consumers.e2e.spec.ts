import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresLog } from '../../src/backbone/index.js';
import { createConsumer, type Consumer } from '../../src/consumer/index.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { createRelay } from '../../src/relay/index.js';
import { createServer, type ControlPlane } from '../../src/server/index.js';
import { postgresAvailable, serverDb, type TestDb } from '../support/services.js';
import { demoTopology, tokens, viewerToken } from '../server/estate.js';

const chromiumPath = '/usr/bin/chromium';
const serverUp = await postgresAvailable();
const authority = 'customer-profile';

describe.skipIf(!existsSync(chromiumPath) || !serverUp)('dashboard: a stalled consumer', () => {
  let t: TestDb;
  let consumer: Consumer;
  let failing = true;
  let server: ControlPlane;
  let base: string;
  let built: string;
  let browser: Browser;

  beforeAll(async () => {
    built = await mkdtemp(join(tmpdir(), 'tidemark-dashboard-consumers-'));
    await build({
      configFile: fileURLToPath(new URL('../../src/dashboard/vite.config.ts', import.meta.url)),
      build: { outDir: built, emptyOutDir: true },
      logLevel: 'error',
    });
    t = await serverDb();
    await registerAuthority(t.db, { entityType: 'customer', context: authority }, t.schema);
    const log = await createPostgresLog({
      db: t.db,
      schema: t.schema,
      partitions: 2,
      timing: { heartbeatMs: 200, pollMs: 20, retryBaseMs: 5, retryMaxMs: 20 },
    });
    consumer = createConsumer({
      name: 'billing',
      db: t.db,
      schema: t.schema,
      backbone: log,
      retry: { attempts: 1_000_000, baseDelayMs: 20, maxDelayMs: 40 },
      handlers: {
        customer: {
          apply: async () => {
            if (failing) throw new Error('billing database refuses the connection');
          },
        },
      },
    });
    await t.db.transaction((tx) =>
      createProducer({ context: authority, schema: t.schema }).append(
        tx,
        { type: 'customer', id: 'c-1' },
        { kind: 'domain', type: 'CustomerAddressChanged', data: {} },
      ),
    );
    // The relay reads only below the server's oldest open transaction (another suite's may be open).
    const relay = createRelay({ db: t.db, backbone: log, schema: t.schema });
    const deadline = Date.now() + 60_000;
    while ((await relay.drain()) === 0) {
      if (Date.now() > deadline) throw new Error('the appended event was not relayed in 60 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    server = await createServer({
      db: t.db,
      schema: t.schema,
      topology: demoTopology(),
      tokens,
      consumers: [{ name: 'billing' }],
      runningConsumers: [consumer],
      stallAfterMs: 300,
      lagSampleMs: 0,
      dashboardDir: built,
    });
    base = await server.listen({ host: '127.0.0.1', port: 0 });
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    await consumer.start();
  }, 120_000);
  afterAll(async () => {
    failing = false;
    await browser?.close();
    await consumer?.stop();
    await server?.close();
    await t?.cleanup();
    if (built) await rm(built, { recursive: true, force: true });
  });

  it('the topology page highlights the stalled consumer with its failing handler, then shows it idle', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    await page.getByTestId('token').fill(viewerToken);
    await page.getByTestId('sign-in').click();
    await page.getByTestId('who').getByText('(viewer)').waitFor({ timeout: 15_000 });

    const state = page.getByTestId('consumer-state-billing');
    await expect.poll(() => state.textContent(), { timeout: 45_000 }).toMatch(/^stalled \d+ s: /);
    expect(await state.textContent()).toContain('handler failing on customer/c-1@1 (attempt');
    expect(await page.getByTestId('consumer-billing').getAttribute('class')).toBe('stalled');
    expect(await page.getByTestId('context-billing').getAttribute('data-health')).toBe('stalled');
    expect(await page.getByTestId('consumer-reasons-billing').textContent()).toMatch(
      /customer\/c-1@1 failed \d+ times, last at .*: billing database refuses the connection/,
    );
    // Consumers without a running instance here are shown from the database, not as stalled.
    expect(await page.getByTestId('consumer-communications').getAttribute('class')).toBe('');
    await page.screenshot({
      path: fileURLToPath(new URL('../../test-output/dashboard/consumer-stalled.png', import.meta.url)),
      fullPage: true,
    });

    failing = false;
    await expect.poll(() => consumer.appliedVersion('customer', 'c-1'), { timeout: 30_000 }).toBe(1);
    await expect.poll(() => state.textContent(), { timeout: 45_000 }).toBe('idle');
    expect(await page.getByTestId('consumer-billing').getAttribute('class')).toBe('');
    expect(await page.getByTestId('context-billing').getAttribute('data-health')).not.toBe('stalled');
    await page.close();
  }, 120_000);
});
