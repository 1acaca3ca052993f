import { randomUUID } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createEnvelope } from '../src/envelope/index.js';
import { createServer, hashToken } from '../src/server/index.js';
import type { Db } from '../src/store/db.js';
import { quoteIdentifier } from '../src/store/identifier.js';
import { CONSUMER_GROUP, ENTITY_TYPE } from './workers/config.js';
import { MAX_MEMO } from './workers/schemas.js';

/** Authority named by the battery's well-formed bad events; the verification keeps them apart from the workload's. */
export const BAD_INPUT_AUTHORITY = 'chaos-bad-input';

/** One piece of bad input and what became of it. */
export interface BadInputCase {
  readonly name: string;
  readonly via: 'backbone' | 'control-plane';
  /** What must happen: a dead letter with this code, a refusal at publish, or this HTTP status. */
  readonly expected: string;
  readonly observed: string;
  readonly accounted: boolean;
}

export interface BadInputResult {
  readonly status: 'not-run' | 'accounted' | 'unaccounted';
  readonly cases: readonly BadInputCase[];
  /** Dead letters of the projector that are neither the workload's nor an expected case of the battery. */
  readonly strayDeadLetters: number;
}

/** A backbone case waiting for its dead letter: found by event id, or by a marker in its raw text. */
interface Pending {
  readonly name: string;
  readonly code: string;
  readonly eventId?: string;
  readonly marker?: string;
}

export interface BackboneBattery {
  readonly pending: readonly Pending[];
  /** Cases settled at publish already (the backbone itself refused them). */
  readonly settled: readonly BadInputCase[];
}

const encoder = new TextEncoder();

/**
 * Publishes bad input straight onto the run's stream, past every producer-side check, while
 * the consumers are busy with the workload: each must end as a dead letter with a specific code
 * (the consumer processes must neither crash nor drop it), or be refused by the backbone.
 */
export async function injectBadInput(nats: {
  readonly servers: string;
  readonly subjectPrefix: string;
  readonly partitions: number;
}): Promise<BackboneBattery> {
  const nc = await connect({ servers: nats.servers, name: 'tidemark-chaos-bad-input' });
  const js = jetstream(nc);
  const pending: Pending[] = [];
  const settled: BadInputCase[] = [];
  const tag = randomUUID().slice(0, 8);
  let partition = 0;
  const send = (payload: string | object) =>
    js.publish(
      `${nats.subjectPrefix}.p.${partition++ % nats.partitions}`,
      encoder.encode(typeof payload === 'string' ? payload : JSON.stringify(payload)),
      { msgID: randomUUID() },
    );
  const event = (entityType: string, entityId: string, type: string, data: unknown) =>
    createEnvelope({
      kind: 'domain',
      type,
      authority: BAD_INPUT_AUTHORITY,
      entityType,
      entityId,
      entityVersion: 1,
      data,
      schemaVersion: 1,
    });
  try {
    const marker = `chaos-bad-input-${tag}`;
    await send(`{"this is not json": ${marker}`);
    pending.push({ name: 'malformed envelope: not JSON', code: 'TM_ENVELOPE_INVALID', marker });

    const bare = { specversion: '1.0', id: randomUUID(), authority: BAD_INPUT_AUTHORITY, type: 'Posted' };
    await send(bare);
    pending.push({
      name: 'malformed envelope: required attributes missing',
      code: 'TM_ENVELOPE_INVALID',
      eventId: bare.id,
    });

    const wrongVersion = {
      ...event(ENTITY_TYPE, `bad-${tag}-version`, 'Posted', { amount: 1 }),
      entityversion: 'three',
    };
    await send(wrongVersion);
    pending.push({
      name: 'malformed envelope: entityversion not a number',
      code: 'TM_ENVELOPE_INVALID',
      eventId: wrongVersion.id,
    });

    const unknownEntity = event('chaos-unknown', `bad-${tag}-entity`, 'Posted', { amount: 1 });
    await send(unknownEntity);
    pending.push({
      name: 'unknown entity type (no handler)',
      code: 'TM_NO_HANDLER',
      eventId: unknownEntity.id,
    });

    const unknownEvent = event(ENTITY_TYPE, `bad-${tag}-type`, 'Refunded', { amount: 1 });
    await send(unknownEvent);
    pending.push({
      name: 'unknown event type (no schema)',
      code: 'TM_SCHEMA_UNKNOWN_VERSION',
      eventId: unknownEvent.id,
    });

    const wrongSchema = event(ENTITY_TYPE, `bad-${tag}-schema`, 'Posted', { amount: 'a lot' });
    await send(wrongSchema);
    pending.push({ name: 'wrong-schema payload', code: 'TM_SCHEMA_INVALID_EVENT', eventId: wrongSchema.id });

    const oversized = event(ENTITY_TYPE, `bad-${tag}-big`, 'Posted', {
      amount: 1,
      memo: 'x'.repeat(600 * 1024),
    });
    await send(oversized);
    pending.push({
      name: `oversized payload (600 KiB memo, limit ${MAX_MEMO} chars)`,
      code: 'TM_SCHEMA_INVALID_EVENT',
      eventId: oversized.id,
    });

    const huge = event(ENTITY_TYPE, `bad-${tag}-huge`, 'Posted', {
      amount: 1,
      memo: 'x'.repeat(2 * 1024 * 1024),
    });
    const refusal = await send(huge).then(
      () => undefined,
      (error: unknown) => String((error as Error).message ?? error),
    );
    settled.push({
      name: 'oversized envelope (2 MiB, over the NATS max_payload)',
      via: 'backbone',
      expected: 'refused at publish',
      observed: refusal ? `refused at publish: ${refusal}` : 'accepted by the stream',
      // If the stream took it, the consumers must dead-letter it like the 600 KiB one.
      accounted: refusal !== undefined,
    });
    if (!refusal) {
      pending.push({
        name: 'oversized envelope (2 MiB) taken by the stream',
        code: 'TM_SCHEMA_INVALID_EVENT',
        eventId: huge.id,
      });
    }
  } finally {
    await nc.close();
  }
  return { pending, settled };
}

/** Matches each backbone case with its dead letter, once the run converged and the workers stopped. */
export async function accountBackboneBattery(
  db: Db,
  schema: string,
  battery: BackboneBattery,
  workloadAuthority: string,
): Promise<{ cases: BadInputCase[]; stray: number }> {
  const s = quoteIdentifier(schema, 'schema name');
  const rows = (
    await db.query<{ event_id: string; code: string; status: string; text: string }>(
      `SELECT event_id, code, status, left(envelope::text, 200) AS text FROM ${s}.dead_letters
       WHERE consumer = $1 AND authority <> $2`,
      [CONSUMER_GROUP, workloadAuthority],
    )
  ).rows;
  const used = new Set<number>();
  const cases = battery.pending.map((p): BadInputCase => {
    const index = rows.findIndex(
      (r, i) =>
        !used.has(i) &&
        (p.eventId ? r.event_id === p.eventId : p.marker !== undefined && r.text.includes(p.marker)),
    );
    const row = rows[index];
    if (row) used.add(index);
    return {
      name: p.name,
      via: 'backbone',
      expected: `dead letter ${p.code}`,
      observed: row ? `dead letter ${row.code} (${row.status})` : 'NOT FOUND in the DLQ',
      accounted: row !== undefined && row.code === p.code && row.status === 'open',
    };
  });
  return { cases: [...battery.settled, ...cases], stray: rows.length - used.size };
}

/**
 * The control plane over the run's schema, listening on 127.0.0.1: requests without a token,
 * with a malformed or unknown one, with a token rotated out of the configuration (tokens carry
 * no expiry: an expired token is one removed from the configuration), a viewer on an operator
 * action, a malformed and an oversized body. Each must get its 4xx as problem+json, and the server
 * must still answer afterwards.
 */
export async function controlPlaneBattery(db: Db, schema: string): Promise<BadInputCase[]> {
  const secret = (name: string) => `${name}-${randomUUID()}`;
  const oldOperator = secret('old-operator');
  const operator = secret('operator');
  const viewer = secret('viewer');
  const serve = (tokens: { name: string; role: 'viewer' | 'operator'; secret: string }[]) =>
    createServer({
      db,
      schema,
      tokens: tokens.map((t) => ({ name: t.name, role: t.role, sha256: hashToken(t.secret) })),
      consumers: [{ name: CONSUMER_GROUP }],
      groupLag: false,
      lagSampleMs: 0,
      dashboardDir: false,
    });
  const cases: BadInputCase[] = [];
  const check = async (
    base: string,
    name: string,
    expected: number,
    path: string,
    init: { method?: string; token?: string; authorization?: string; body?: string } = {},
  ) => {
    const headers: Record<string, string> = {};
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    if (init.authorization) headers.authorization = init.authorization;
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    let observed: string;
    let accounted = false;
    try {
      const res = await fetch(`${base}${path}`, { method: init.method ?? 'GET', headers, body: init.body });
      const type = res.headers.get('content-type') ?? '';
      const body = (await res.json().catch(() => ({}))) as { code?: string };
      observed = `${res.status} ${type.split(';')[0]} ${body.code ?? ''}`.trim();
      accounted = res.status === expected && (expected < 400 || type.includes('application/problem+json'));
    } catch (error) {
      observed = `request failed: ${String(error)}`;
    }
    cases.push({ name, via: 'control-plane', expected: String(expected), observed, accounted });
  };

  // The operator's old token works, then is rotated out.
  const before = await serve([{ name: 'ops', role: 'operator', secret: oldOperator }]);
  const beforeUrl = await before.listen({ host: '127.0.0.1', port: 0 });
  await check(beforeUrl, 'token before rotation accepted', 200, '/api/dead-letters', { token: oldOperator });
  await before.close();

  const server = await serve([
    { name: 'ops', role: 'operator', secret: operator },
    { name: 'watcher', role: 'viewer', secret: viewer },
  ]);
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  try {
    const action = `/api/consumers/${CONSUMER_GROUP}/dead-letters/1/retry`;
    await check(url, 'no token', 401, '/api/dead-letters');
    await check(url, 'malformed authorization header', 401, '/api/dead-letters', { authorization: 'Bearer' });
    await check(url, 'wrong scheme (Basic)', 401, '/api/dead-letters', { authorization: 'Basic b3BzOnB3' });
    await check(url, 'unknown token', 401, '/api/dead-letters', { token: secret('forged') });
    await check(url, 'expired token (rotated out)', 401, '/api/dead-letters', { token: oldOperator });
    await check(url, 'expired token on an operator action', 401, action, {
      method: 'POST',
      token: oldOperator,
      body: JSON.stringify({ reason: 'chaos' }),
    });
    await check(url, 'viewer token on an operator action', 403, action, {
      method: 'POST',
      token: viewer,
      body: JSON.stringify({ reason: 'chaos' }),
    });
    await check(url, 'malformed JSON body', 400, action, {
      method: 'POST',
      token: operator,
      body: '{"reason": ',
    });
    await check(url, 'oversized body (2 MiB)', 413, action, {
      method: 'POST',
      token: operator,
      body: JSON.stringify({ reason: 'x'.repeat(2 * 1024 * 1024) }),
    });
    await check(url, 'server still answering afterwards', 200, '/healthz');
  } finally {
    await server.close();
  }
  return cases;
}
