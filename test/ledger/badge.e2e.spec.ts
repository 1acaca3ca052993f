import { mkdir } from 'node:fs/promises';
import Fastify, { type FastifyInstance } from 'fastify';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddedDb, type TestDb } from '../support/services.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { recordStages, type LedgerStage } from '../../src/ledger/index.js';
import { ledgerHttp } from '../../src/ledger/http.js';
import { parseTopology, starterTopology } from '../../src/topology/index.js';
import { quoteIdentifier } from '../../src/store/identifier.js';

const parsed = parseTopology(starterTopology);
if (!parsed.valid) throw new Error('the starter topology must parse');
const topology = parsed.topology;
const authority = 'customer-profile';
const page = `<!doctype html><html><head><meta charset="utf-8"><title>Support view</title>
<script type="module" src="/tidemark-status.js"></script></head>
<body><h1>Customer 42</h1>
<p>Letter: <tidemark-status id="letter" entity="customer/42" decision="send-letter"></tidemark-status></p>
<p>Everywhere: <tidemark-status id="all" entity="customer/42"></tidemark-status></p>
</body></html>`;

describe('<tidemark-status> in headless Chromium', () => {
  let t: TestDb;
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    t = await embeddedDb();
    await registerAuthority(t.db, { entityType: 'customer', context: authority }, t.schema);
    await t.db.transaction((tx) =>
      createProducer({ context: authority, schema: t.schema }).append(
        tx,
        { type: 'customer', id: '42' },
        { kind: 'domain', type: 'CustomerAddressChanged', data: {} },
      ),
    );
    app = Fastify({ forceCloseConnections: true });
    await app.register(ledgerHttp, { db: t.db, schema: t.schema, topology });
    app.get('/', async (_request, reply) => reply.type('text/html').send(page));
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    await mkdir('test-output', { recursive: true });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await t?.cleanup();
  });

  const record = (context: string, stage: LedgerStage, detail?: Record<string, unknown>) =>
    t.db.transaction((tx) =>
      recordStages(tx, quoteIdentifier(t.schema), [
        {
          entityType: 'customer',
          entityId: '42',
          version: 1,
          context,
          stage,
          authority,
          ...(detail ? { detail } : {}),
        },
      ]),
    );

  it('shows the change maturing, live, as stages are recorded', async () => {
    const tab = await browser.newPage();
    await tab.goto(base);
    // Playwright's CSS pierces the badge's open shadow root.
    const letter = tab.locator('#letter .text');
    const all = tab.locator('#all .text');

    await expect.poll(() => letter.textContent(), { timeout: 20_000 }).toBe('pending in communications');
    await tab.screenshot({ path: 'test-output/badge-1-pending.png' });

    await record('policy', 'held', { state: 'under-review', reason: 'underwriting review' });
    await expect
      .poll(() => all.textContent(), { timeout: 20_000 })
      .toBe('held: underwriting review (policy)');
    expect(await tab.locator('#all').getAttribute('state')).toBe('held');

    await record('billing', 'deferred', { until: '2999-01-01T00:00:00Z', calendar: 'next-billing-cycle' });
    await record('communications', 'applied');
    await expect.poll(() => letter.textContent(), { timeout: 20_000 }).toBe('ready for send-letter');
    await tab.screenshot({ path: 'test-output/badge-2-held.png' });

    await record('policy', 'applied');
    await expect
      .poll(() => all.textContent(), { timeout: 20_000 })
      .toBe('pending in billing (next billing cycle)');

    await record('billing', 'applied');
    await record('claims', 'applied');
    await expect.poll(() => all.textContent(), { timeout: 20_000 }).toBe('up to date everywhere');
    expect(await tab.locator('#all').getAttribute('state')).toBe('current');
    await tab.screenshot({ path: 'test-output/badge-3-everywhere.png' });
    await tab.close();
  }, 120_000);
});
