import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from '../support/both-databases.js';
import type { TestDb } from '../support/services.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { recordStages, type LedgerStage } from '../../src/ledger/index.js';
import { ledgerHttp, ledgerHttpActivity } from '../../src/ledger/http.js';
import { parseTopology, starterTopology, type Topology } from '../../src/topology/index.js';
import { quoteIdentifier } from '../../src/store/identifier.js';

const kinds = await databaseKinds();
const parsed = parseTopology(starterTopology);
if (!parsed.valid) throw new Error('the starter topology must parse');
const topology: Topology = parsed.topology;
const authority = 'customer-profile';

/** Reads Server-Sent Events of `name` from a streaming response. */
function events(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  return async function next(): Promise<{ event: string; data: unknown }> {
    for (;;) {
      const end = buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (block.startsWith(':')) continue;
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
        const data = /^data: (.*)$/m.exec(block)?.[1] ?? '';
        return { event, data: JSON.parse(data) };
      }
      const { value, done } = await reader.read();
      if (done) throw new Error('stream ended');
      buffer += decoder.decode(value, { stream: true });
    }
  };
}

describe.each(kinds)('ledger over HTTP on $name', (kind) => {
  let t: TestDb;
  let app: FastifyInstance;
  let base: string;
  let seq = 0;

  beforeAll(async () => {
    t = await kind.open();
    await registerAuthority(t.db, { entityType: 'customer', context: authority }, t.schema);
    app = Fastify({ forceCloseConnections: true });
    await app.register(ledgerHttp, { db: t.db, schema: t.schema, topology, maxWaitMs: 20_000 });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app.close();
    await t.cleanup();
  });

  async function accept(): Promise<string> {
    const id = `c-${++seq}`;
    await t.db.transaction((tx) =>
      createProducer({ context: authority, schema: t.schema }).append(
        tx,
        { type: 'customer', id },
        { kind: 'domain', type: 'CustomerAddressChanged', data: {} },
      ),
    );
    return id;
  }
  const record = (id: string, context: string, stage: LedgerStage, detail?: Record<string, unknown>) =>
    t.db.transaction((tx) =>
      recordStages(tx, quoteIdentifier(t.schema), [
        {
          entityType: 'customer',
          entityId: id,
          version: 1,
          context,
          stage,
          authority,
          ...(detail ? { detail } : {}),
        },
      ]),
    );

  it('answers the status at once without waitFor', async () => {
    const id = await accept();
    const res = await fetch(`${base}/api/entities/customer/${id}/status`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { badge: { text: string }; status: { latestVersion: number } };
    expect(body.status.latestVersion).toBe(1);
    expect(body.badge.text).toBe('pending in billing');
  });

  it('long-polls until the awaited stage is recorded', async () => {
    const id = await accept();
    const answer = fetch(`${base}/api/entities/customer/${id}/status?waitFor=applied@billing&timeout=15s`);
    await expect.poll(() => ledgerHttpActivity(app).waiting).toBe(1);
    await record(id, 'billing', 'applied');
    const res = await answer;
    expect(res.status).toBe(200);
    const body = (await res.json()) as { reached: { waitedFor: string } };
    expect(body.reached.waitedFor).toBe('applied@billing');
  });

  it('answers a timed-out wait with a problem naming who is missing', async () => {
    const id = await accept();
    await record(id, 'billing', 'deferred', {
      until: '2999-01-01T00:00:00Z',
      calendar: 'next-billing-cycle',
    });
    const res = await fetch(
      `${base}/api/entities/customer/${id}/status?waitFor=applied@billing&timeout=300ms`,
    );
    expect(res.status).toBe(504);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await res.json()) as { code: string; missing: { context: string; reason: string }[] };
    expect(problem.code).toBe('TM_WAIT_TIMEOUT');
    expect(problem.missing).toMatchObject([{ context: 'billing', reason: 'deferred' }]);
  });

  it('refuses a timeout over the maximum, naming the maximum, and an unknown stage, listing the valid ones', async () => {
    const id = await accept();
    const long = await fetch(
      `${base}/api/entities/customer/${id}/status?waitFor=applied@billing&timeout=90s`,
    );
    expect(long.status).toBe(400);
    expect(long.headers.get('content-type')).toContain('application/problem+json');
    expect(((await long.json()) as { detail: string }).detail).toContain(
      'longer than the maximum of 20000 ms',
    );
    const unknown = await fetch(
      `${base}/api/entities/customer/${id}/status?waitFor=aplied@billing&timeout=1s`,
    );
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { detail: string }).detail).toMatch(
      /unknown stage "aplied"; valid stages: accepted/,
    );
    expect(ledgerHttpActivity(app).waiting).toBe(0);
  });

  it('frees the wait when the client disconnects mid-wait', async () => {
    const id = await accept();
    const client = new AbortController();
    const answer = fetch(`${base}/api/entities/customer/${id}/status?waitFor=applied@claims&timeout=15s`, {
      signal: client.signal,
    }).catch((error: unknown) => error);
    await expect.poll(() => ledgerHttpActivity(app).waiting).toBe(1);
    client.abort();
    await answer;
    await expect.poll(() => ledgerHttpActivity(app).waiting, { timeout: 10_000 }).toBe(0);
  });

  it('streams stage changes as Server-Sent Events and closes the stream with the client', async () => {
    const id = await accept();
    const client = new AbortController();
    const res = await fetch(`${base}/api/entities/customer/${id}/events?decision=quote-at-new-risk-address`, {
      signal: client.signal,
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const next = events(res.body!);
    expect(await next()).toMatchObject({
      event: 'status',
      data: { badge: { state: 'pending', text: 'pending in policy' } },
    });
    await record(id, 'policy', 'held', { state: 'under-review', reason: 'underwriting review' });
    expect(await next()).toMatchObject({
      data: { badge: { state: 'held', text: 'held: underwriting review (policy)' } },
    });
    await record(id, 'policy', 'applied');
    expect(await next()).toMatchObject({
      data: { badge: { state: 'ready', text: 'ready for quote-at-new-risk-address' } },
    });
    expect(ledgerHttpActivity(app).streams).toBe(1);
    client.abort();
    await expect.poll(() => ledgerHttpActivity(app).streams, { timeout: 10_000 }).toBe(0);
  });

  it('serves the badge script', async () => {
    const res = await fetch(`${base}/tidemark-status.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('javascript');
    expect(await res.text()).toContain("customElements.define('tidemark-status'");
  });
});
