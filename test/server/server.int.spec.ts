import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../../src/server/index.js';
import { waitUntil } from '../support/wait.js';
import { asOperator, asViewer, estateServer, startEstate, type Estate } from './estate.js';

const problem = 'application/problem+json';

describe('control plane over an embedded estate', () => {
  let estate: Estate;
  let server: ControlPlane;
  let parkedHead: { id: number; consumer: string };
  /** A POST through the in-process server, sent as `headers` says. */
  const post = (url: string, headers: Record<string, string>, payload: string | object) =>
    server.app.inject({ method: 'POST', url, headers, payload });

  beforeAll(async () => {
    estate = await startEstate();
    server = await estateServer(estate, { lagSampleMs: 0, dashboardDir: false });
    await estate.change('c-1', '1 Harbour Road');
    await estate.change('c-2', 'POISON');
    await estate.change('c-2', '2 Dock Street');
    await waitUntil(
      async () =>
        (await server.app.inject({ url: '/api/dead-letters?consumer=billing', headers: asViewer })).json()
          .deadLetters.length,
      2,
      20_000,
      'the poisoned key to park',
    );
    const list = (await server.app.inject({ url: '/api/dead-letters', headers: asViewer })).json();
    parkedHead = list.deadLetters.find((d: { status: string }) => d.status === 'open');
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await estate?.stop();
  });

  it('answers /healthz and /readyz without a token', async () => {
    expect((await server.app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await server.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().status).toBe('ready');
  });

  it('refuses a request without a token, or with an unknown one, with 401 problem+json', async () => {
    for (const headers of [{}, { authorization: 'Bearer not-a-token' }, { authorization: 'Basic abc' }]) {
      const res = await server.app.inject({ url: '/api/topology', headers });
      expect(res.statusCode).toBe(401);
      expect(res.headers['content-type']).toContain(problem);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(res.json()).toMatchObject({
        type: 'urn:tidemark:error:TM_UNAUTHENTICATED',
        title: 'Missing or unknown bearer token',
        status: 401,
        code: 'TM_UNAUTHENTICATED',
      });
      expect(res.json().detail).toMatch(/Bearer|token/);
    }
  });

  it('shows the topology to a viewer', async () => {
    const res = await server.app.inject({ url: '/api/topology', headers: asViewer });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.contexts.map((c: { name: string }) => c.name)).toEqual([
      'customer-profile',
      'billing',
      'policy',
      'claims',
      'communications',
    ]);
    expect(body.flows.find((f: { name: string }) => f.name === 'customer-to-billing')).toMatchObject({
      source: 'customer-profile',
      consumer: 'billing',
    });
  });

  it('reports per-flow lag, dead letters and parked keys', async () => {
    const body = (await server.app.inject({ url: '/api/flows', headers: asViewer })).json();
    const billing = body.flows.find((f: { consumer: string }) => f.consumer === 'billing');
    expect(billing.deadLetters).toEqual({ open: 1, parked: 1, parkedKeys: 1 });
    expect(billing.partitions.length).toBeGreaterThan(0);
    expect(typeof billing.lag).toBe('number');
    expect(body.relays[0]).toMatchObject({ name: 'default' });
    expect(typeof body.backlog).toBe('number');
  });

  it('serves the long-poll status and the badge script; waiting needs a viewer token', async () => {
    const anonymous = await server.app.inject({
      url: '/api/entities/customer/c-1/status?waitFor=applied@billing',
    });
    expect(anonymous.statusCode).toBe(401);
    const waited = await server.app.inject({
      url: '/api/entities/customer/c-1/status?waitFor=applied@billing&timeout=10s',
      headers: asViewer,
    });
    expect(waited.statusCode).toBe(200);
    expect(waited.json().status.entityId).toBe('c-1');
    const tooLong = await server.app.inject({
      url: '/api/entities/customer/c-1/status?waitFor=applied@billing&timeout=1h',
      headers: asViewer,
    });
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.headers['content-type']).toContain(problem);
    const script = await server.app.inject({ url: '/tidemark-status.js' });
    expect(script.statusCode).toBe(200);
    expect(script.body).toContain('tidemark-status');
  });

  it('gives an entity status, timeline and readiness from the ledger; 404 for an unknown entity', async () => {
    await expect
      .poll(
        async () =>
          (
            await server.app.inject({
              url: '/api/entities/customer/c-1/readiness/send-letter',
              headers: asViewer,
            })
          ).json().ready,
        { timeout: 20_000 },
      )
      .toBe(true);
    const status = (await server.app.inject({ url: '/api/entities/customer/c-1', headers: asViewer })).json();
    expect(status).toMatchObject({ entityType: 'customer', entityId: 'c-1', latestVersion: 1 });
    expect(typeof status.summary).toBe('string');
    const timeline = (
      await server.app.inject({ url: '/api/entities/customer/c-1/timeline', headers: asViewer })
    ).json();
    expect(timeline.timeline.map((e: { stage: string }) => e.stage)).toContain('applied');
    const missing = await server.app.inject({ url: '/api/entities/customer/nobody', headers: asViewer });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('TM_ENTITY_NOT_FOUND');
    const decision = await server.app.inject({
      url: '/api/entities/customer/c-1/readiness/no-such-decision',
      headers: asViewer,
    });
    expect(decision.statusCode).toBe(404);
    expect(decision.json().code).toBe('TM_UNKNOWN_DECISION');
  });

  it('withholds dead-letter payloads from viewers and shows them to operators', async () => {
    const url = `/api/consumers/billing/dead-letters/${parkedHead.id}`;
    const seen = (await server.app.inject({ url, headers: asViewer })).json();
    expect(seen.envelope.dataRedacted).toBe(true);
    expect(seen.envelope).not.toHaveProperty('data');
    const full = (await server.app.inject({ url, headers: asOperator })).json();
    expect(full.envelope.data).toEqual({ address: 'POISON' });
  });

  it('refuses operator actions to a viewer with 403 and changes nothing', async () => {
    const res = await post(`/api/consumers/billing/dead-letters/${parkedHead.id}/skip`, asViewer, {
      reason: 'trying my luck',
    });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({
      code: 'TM_FORBIDDEN',
      title: 'Token role does not allow this action',
    });
    const still = (
      await server.app.inject({
        url: `/api/consumers/billing/dead-letters/${parkedHead.id}`,
        headers: asViewer,
      })
    ).json();
    expect(still.status).toBe('open');
  });

  it('needs a reason for an operator action', async () => {
    for (const payload of [{}, { reason: '' }, { reason: 42 }, { reason: 'ok', extra: 1 }]) {
      const res = await post(
        `/api/consumers/billing/dead-letters/${parkedHead.id}/retry`,
        asOperator,
        payload,
      );
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('TM_REQUEST_INVALID');
      expect(res.json().detail).toMatch(/reason|additional/);
    }
  });

  it('answers unknown consumers, dead letters, operations and routes with precise 404s', async () => {
    const cases: [string, string][] = [
      ['/api/consumers/nobody/dead-letters/1', 'TM_UNKNOWN_CONSUMER'],
      ['/api/consumers/billing/dead-letters/999999', 'TM_DLQ_NOT_FOUND'],
      ['/api/consumers/billing/operations/999999', 'TM_OPERATION_NOT_FOUND'],
      ['/api/no-such-thing', 'TM_ROUTE_NOT_FOUND'],
    ];
    for (const [url, code] of cases) {
      const res = await server.app.inject({ url, headers: asViewer });
      expect(res.statusCode, url).toBe(404);
      expect(res.headers['content-type']).toContain(problem);
      expect(res.json().code).toBe(code);
    }
    const badId = await server.app.inject({
      url: '/api/consumers/billing/dead-letters/abc',
      headers: asViewer,
    });
    expect(badId.statusCode).toBe(400);
    expect(badId.json().detail).toMatch(/params\/id must be integer/);
  });

  it('refuses malformed JSON, a non-JSON body and a body over the limit', async () => {
    const url = `/api/consumers/billing/dead-letters/${parkedHead.id}/retry`;
    const bad = await post(url, { ...asOperator, 'content-type': 'application/json' }, '{"reason": ');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('TM_REQUEST_INVALID');
    const text = await post(url, { ...asOperator, 'content-type': 'text/plain' }, 'reason=because');
    expect(text.statusCode).toBe(415);
    expect(text.json().code).toBe('TM_UNSUPPORTED_MEDIA_TYPE');
    const huge = await post(
      url,
      { ...asOperator, 'content-type': 'application/json' },
      JSON.stringify({ reason: 'x'.repeat(2 * 1024 * 1024) }),
    );
    expect(huge.statusCode).toBe(413);
    expect(huge.json().code).toBe('TM_PAYLOAD_TOO_LARGE');
  });

  it('retries a parked head for an operator, audits it, and the key un-parks', async () => {
    estate.heal();
    const res = await post(`/api/consumers/billing/dead-letters/${parkedHead.id}/retry`, asOperator, {
      reason: 'address parser fixed in 1.4',
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().status).toBe('retry');
    await expect
      .poll(
        async () =>
          (await server.app.inject({ url: '/api/dead-letters?consumer=billing', headers: asViewer })).json()
            .deadLetters.length,
        { timeout: 20_000 },
      )
      .toBe(0);
    const audit = (await server.app.inject({ url: '/api/audit', headers: asViewer })).json().audit;
    expect(audit[0]).toMatchObject({
      actor: 'olga',
      action: 'dlq.retry',
      target: `dead-letter:${parkedHead.id}`,
      reason: 'address parser fixed in 1.4',
    });
  });

  it('records a replay request (audited) and refuses an inverted range', async () => {
    const url = '/api/consumers/communications/replays';
    const inverted = await post(url, asOperator, {
      reason: 'rebuild contacts',
      fromPosition: 10,
      toPosition: 2,
    });
    expect(inverted.statusCode).toBe(400);
    expect(inverted.json().detail).toMatch(/invalid replay range/);
    const ok = await post(url, asOperator, { reason: 'contacts lost rows', fromPosition: 0 });
    expect(ok.statusCode).toBe(202);
    const request = ok.json();
    expect(request).toMatchObject({ consumer: 'communications', kind: 'replay', requestedBy: 'olga' });
    const again = await server.app.inject({
      url: `/api/consumers/communications/operations/${request.id}`,
      headers: asViewer,
    });
    expect(again.json().id).toBe(request.id);
    const audit = (await server.app.inject({ url: '/api/audit?limit=1', headers: asViewer })).json().audit;
    expect(audit[0]).toMatchObject({
      actor: 'olga',
      action: 'operation.replay',
      reason: 'contacts lost rows',
    });
  });

  it('shows reconciliation runs with findings and lets operators assign and resolve exceptions (audited)', async () => {
    const s = `"${estate.t.schema}"`;
    const run = (
      await estate.t.db.query<{ id: string }>(
        `INSERT INTO ${s}.recon_runs (flow, status, dry_run, finished_at, report)
         VALUES ('customer-to-billing', 'finished', false, now(), '{"found": {"missing": 0, "stale": 0, "orphan": 0, "divergent": 1}}')
         RETURNING id`,
      )
    ).rows[0]!.id;
    await estate.t.db.query(
      `INSERT INTO ${s}.recon_findings (run_id, entity_id, class, authority_version, replica_version, outcome)
       VALUES ($1, 'c-1', 'divergent', 1, 1, 'exception')`,
      [run],
    );
    const exception = (
      await estate.t.db.query<{ id: string }>(
        `INSERT INTO ${s}.recon_exceptions (flow, entity_type, entity_id, class, authority_version, replica_version, run_id)
         VALUES ('customer-to-billing', 'customer', 'c-1', 'divergent', 1, 1, $1) RETURNING id`,
        [run],
      )
    ).rows[0]!.id;
    const base = '/api/consumers/billing/reconciliation';
    const runs = (await server.app.inject({ url: `${base}/runs`, headers: asViewer })).json().runs;
    expect(runs[0]).toMatchObject({ id: Number(run), flow: 'customer-to-billing', status: 'finished' });
    const detail = (await server.app.inject({ url: `${base}/runs/${run}`, headers: asViewer })).json();
    expect(detail.findings).toEqual([
      { entityId: 'c-1', class: 'divergent', authorityVersion: 1, replicaVersion: 1, outcome: 'exception' },
    ]);
    const missing = await server.app.inject({ url: `${base}/runs/999999`, headers: asViewer });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('TM_RECON_RECORD_NOT_FOUND');
    const open = (
      await server.app.inject({ url: `${base}/exceptions?status=open`, headers: asViewer })
    ).json();
    expect(open.exceptions.map((e: { id: number }) => e.id)).toEqual([Number(exception)]);

    const denied = await post(`${base}/exceptions/${exception}/assign`, asViewer, { reason: 'I will look' });
    expect(denied.statusCode).toBe(403);
    const assigned = await post(`${base}/exceptions/${exception}/assign`, asOperator, {
      reason: 'taking it',
      note: 'address differs in billing',
    });
    expect(assigned.json()).toMatchObject({ status: 'investigating', assignee: 'olga' });
    const resolved = await post(`${base}/exceptions/${exception}/resolve`, asOperator, {
      reason: 'billing corrected by hand',
    });
    expect(resolved.json()).toMatchObject({ status: 'resolved', resolution: 'billing corrected by hand' });
    const unknown = await post(`${base}/exceptions/999999/resolve`, asOperator, { reason: 'nothing' });
    expect(unknown.statusCode).toBe(404);
    const audit = (await server.app.inject({ url: '/api/audit?limit=2', headers: asViewer })).json().audit;
    expect(audit.map((a: { action: string }) => a.action)).toEqual([
      'reconcile.exception.resolve',
      'reconcile.exception.assign',
    ]);
  });

  it('publishes an OpenAPI document generated from the route schemas', async () => {
    const doc = (await server.app.inject({ url: '/openapi.json' })).json();
    expect(doc.openapi).toBe('3.0.3');
    const retry = doc.paths['/api/consumers/{consumer}/dead-letters/{id}/retry'].post;
    expect(retry.requestBody.content['application/json'].schema.required).toEqual(['reason']);
    expect(retry.parameters.map((p: { name: string }) => p.name).sort()).toEqual(['consumer', 'id']);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/topology', '/api/flows', '/api/entities/{type}/{id}', '/metrics']),
    );
  });

  it('serves the same API on a live socket on 127.0.0.1', async () => {
    const live = await estateServer(estate, { lagSampleMs: 0, dashboardDir: false });
    try {
      const base = await live.listen({ host: '127.0.0.1', port: 0 });
      expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const me = await fetch(`${base}/api/me`, { headers: asOperator });
      expect(await me.json()).toEqual({ name: 'olga', role: 'operator' });
      const denied = await fetch(`${base}/api/flows`);
      expect(denied.status).toBe(401);
      expect(denied.headers.get('content-type')).toContain(problem);
      const metrics = await fetch(`${base}/metrics`, { headers: asViewer });
      const text = await metrics.text();
      expect(text).toMatch(/^tidemark_outbox_backlog\{relay="default"\} \d+$/m);
      expect(text).toMatch(/^tidemark_dlq_messages\{consumer="billing",status="open"\} 0$/m);
      expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    } finally {
      await live.close();
    }
  });
});
