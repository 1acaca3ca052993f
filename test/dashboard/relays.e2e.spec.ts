import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type ControlPlane } from '../../src/server/index.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { createRelay, type Relay } from '../../src/relay/index.js';
import { createPostgresLog } from '../../src/backbone/index.js';
import { parseTopology, starterTopology } from '../../src/topology/index.js';
import { postgresAvailable, postgresUrl, serverDb, uniqueSchema, type TestDb } from '../support/services.js';
import { buildDashboard, hasChromium, launchChromium, signIn } from '../support/dashboard.js';
import { tokens, viewerToken } from '../server/estate.js';

const serverUp = await postgresAvailable();
const authority = 'customer-profile';

describe.skipIf(!hasChromium || !serverUp)('dashboard: a relay held back by an open transaction', () => {
  let t: TestDb;
  let relay: Relay;
  let holder: pg.Client;
  let server: ControlPlane;
  let base: string;
  let built: string;
  let browser: Browser;
  const applicationName = uniqueSchema('forgotten_begin');

  beforeAll(async () => {
    built = await buildDashboard('tidemark-dashboard-relays-');
    t = await serverDb();
    await registerAuthority(t.db, { entityType: 'customer', context: authority }, t.schema);
    const log = await createPostgresLog({ db: t.db, schema: t.schema, partitions: 2 });
    relay = createRelay({ db: t.db, backbone: log, schema: t.schema });
    holder = new pg.Client({ connectionString: postgresUrl, application_name: applicationName });
    await holder.connect();
    const parsed = parseTopology(starterTopology);
    if (!parsed.valid) throw new Error('the starter topology must parse');
    server = await createServer({
      db: t.db,
      schema: t.schema,
      topology: parsed.topology,
      tokens,
      relays: [relay],
      groupLag: false,
      dashboardDir: built,
    });
    base = await server.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await holder?.end().catch(() => {});
    await server?.close();
    await relay?.stop();
    await t?.cleanup();
    if (built) await rm(built, { recursive: true, force: true });
  });

  it('the topology page names the transaction holding the relay back, then shows it moving', async () => {
    await holder.query('BEGIN');
    await holder.query('SELECT pg_current_xact_id()');
    await t.db.transaction((tx) =>
      createProducer({ context: authority, schema: t.schema }).append(
        tx,
        { type: 'customer', id: 'c-1' },
        { kind: 'domain', type: 'CustomerAddressChanged', data: {} },
      ),
    );
    expect(await relay.drain()).toBe(0);

    const page = await browser.newPage();
    await signIn(page, base, viewerToken, '(viewer)');
    const horizon = page.getByTestId(`relay-horizon-${relay.name}`);
    // The page refreshes every 3 s; another suite's older open transaction may be named first.
    await expect.poll(() => horizon.textContent(), { timeout: 45_000 }).toContain(applicationName);
    expect(await horizon.textContent()).toMatch(/^held \d+ s: /);
    await page.screenshot({
      path: fileURLToPath(new URL('../../test-output/dashboard/relay-held.png', import.meta.url)),
    });

    await holder.query('COMMIT');
    expect(await relay.drain()).toBe(1);
    await expect.poll(() => horizon.textContent(), { timeout: 45_000 }).toBe('moving');
    await page.close();
  }, 120_000);
});
