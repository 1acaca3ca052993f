import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddedDb, type TestDb } from '../support/services.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { recordStages, type LedgerStage } from '../../src/ledger/index.js';
import { parseTopology, starterTopology } from '../../src/topology/index.js';
import { quoteIdentifier } from '../../src/store/identifier.js';
import { createServer, type ControlPlane } from '../../src/server/index.js';
import { tokens, viewerToken } from '../server/estate.js';

const chromiumPath = '/usr/bin/chromium';
const parsed = parseTopology(starterTopology);
if (!parsed.valid) throw new Error('the starter topology must parse');
const topology = parsed.topology;
const authority = 'customer-profile';

const supportPage = (
  token: string,
) => `<!doctype html><html><head><meta charset="utf-8"><title>Support</title>
<script type="module" src="/tidemark-status.js"></script></head>
<body><tidemark-status id="letter" entity="customer/42" decision="send-letter" token="${token}"></tidemark-status>
<tidemark-status id="all" entity="customer/42" token="${token}"></tidemark-status></body></html>`;

describe.skipIf(!existsSync(chromiumPath))(
  '<tidemark-status token> against the token-protected control plane',
  () => {
    let t: TestDb;
    let server: ControlPlane;
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
      server = await createServer({ db: t.db, schema: t.schema, topology, tokens });
      base = await server.listen({ host: '127.0.0.1', port: 0 });
      browser = await chromium.launch({
        executablePath: chromiumPath,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      });
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
      await server?.close();
      await t?.cleanup();
    });

    const record = (context: string, stage: LedgerStage) =>
      t.db.transaction((tx) =>
        recordStages(tx, quoteIdentifier(t.schema), [
          { entityType: 'customer', entityId: '42', version: 1, context, stage, authority },
        ]),
      );

    /** A page on the control plane's own origin, so the badge's requests are same-origin. */
    async function open(token: string): Promise<Page> {
      const tab = await browser.newPage();
      await tab.route(`${base}/support-test`, (route) =>
        route.fulfill({ status: 200, contentType: 'text/html', body: supportPage(token) }),
      );
      await tab.goto(`${base}/support-test`);
      return tab;
    }

    it('the control plane refuses the stream without a token, so EventSource alone cannot work', async () => {
      const response = await fetch(`${base}/api/entities/customer/42/events`);
      expect(response.status).toBe(401);
    });

    it('with the viewer token the badge shows the status and follows it live', async () => {
      const tab = await open(viewerToken);
      const letter = tab.locator('#letter .text');
      const all = tab.locator('#all .text');
      await expect.poll(() => letter.textContent(), { timeout: 20_000 }).toBe('pending in communications');
      await record('communications', 'applied');
      await expect.poll(() => letter.textContent(), { timeout: 20_000 }).toBe('ready for send-letter');
      expect(await tab.locator('#letter').getAttribute('state')).toBe('ready');
      for (const context of ['policy', 'billing', 'claims']) await record(context, 'applied');
      await expect.poll(() => all.textContent(), { timeout: 20_000 }).toBe('up to date everywhere');
      await tab.close();
    }, 90_000);

    it('with a wrong token the badge shows an error state naming the cause', async () => {
      const tab = await open('not-a-real-token');
      const errors: Error[] = [];
      tab.on('pageerror', (error) => errors.push(error));
      await expect.poll(() => tab.locator('#all').getAttribute('state'), { timeout: 20_000 }).toBe('error');
      expect(await tab.locator('#all .text').textContent()).toBe(
        'not authorised: check the token (HTTP 401)',
      );
      expect(errors).toEqual([]);
      await tab.close();
    }, 60_000);
  },
);
