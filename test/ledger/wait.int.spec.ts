import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from '../support/both-databases.js';
import type { TestDb } from '../support/services.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { createRelay } from '../../src/relay/index.js';
import { createPostgresLog } from '../../src/backbone/index.js';
import { createConsumer } from '../../src/consumer/index.js';
import { TidemarkError, isTidemarkError } from '../../src/errors.js';
import {
  createLedgerWaiter,
  recordStages,
  type LedgerStage,
  type LedgerWaiter,
  type MissingContext,
} from '../../src/ledger/index.js';
import { parseTopology, starterTopology, type Topology } from '../../src/topology/index.js';
import { quoteIdentifier } from '../../src/store/identifier.js';
import type { Envelope } from '../../src/envelope/types.js';

const kinds = await databaseKinds();
const parsed = parseTopology(starterTopology);
if (!parsed.valid) throw new Error('the starter topology must parse');
const topology: Topology = parsed.topology;
const authority = 'customer-profile';

describe.each(kinds)('waitFor on $name', (kind) => {
  let t: TestDb;
  let s: string;
  let waiter: LedgerWaiter;
  let seq = 0;

  beforeAll(async () => {
    t = await kind.open();
    s = quoteIdentifier(t.schema);
    await registerAuthority(t.db, { entityType: 'customer', context: authority }, t.schema);
    waiter = createLedgerWaiter({ db: t.db, schema: t.schema, topology, maxTimeoutMs: 30_000 });
  });
  afterAll(async () => {
    await waiter.close();
    await t.cleanup();
  });

  async function accept(id = `c-${++seq}`): Promise<string> {
    await t.db.transaction((tx) =>
      createProducer({ context: authority, schema: t.schema }).append(
        tx,
        { type: 'customer', id },
        { kind: 'domain', type: 'CustomerAddressChanged', data: { street: 'Quay 1' } },
      ),
    );
    return id;
  }

  const record = (id: string, context: string, stage: LedgerStage, detail?: Record<string, unknown>) =>
    t.db.transaction((tx) =>
      recordStages(tx, s, [
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

  /** Starts a wait and records what happened to it, so a test can look without awaiting it. */
  function watch<T>(promise: Promise<T>) {
    const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
    promise.then(
      (value) => Object.assign(state, { settled: true, value }),
      (error: unknown) => Object.assign(state, { settled: true, error }),
    );
    return state;
  }

  it('resolves when another transaction records the awaited stage, not before', async () => {
    // Given a change billing has only received
    const id = await accept();
    await record(id, 'billing', 'delivered');
    // When a caller waits for applied@billing
    const wait = watch(
      waiter.waitFor({
        entity: { type: 'customer', id },
        stage: 'applied',
        context: 'billing',
        timeoutMs: 20_000,
      }),
    );
    // Then it is still waiting after another entity's stage and a lesser stage of its own
    const other = await accept();
    await record(other, 'billing', 'applied');
    await record(id, 'policy', 'applied');
    await expect.poll(() => waiter.waiting).toBe(1);
    expect(wait.settled).toBe(false);
    // And it resolves once billing applies it
    await record(id, 'billing', 'applied');
    await expect.poll(() => wait.settled, { timeout: 15_000 }).toBe(true);
    expect(wait.error).toBeUndefined();
    expect(wait.value).toMatchObject({
      entityType: 'customer',
      entityId: id,
      version: 1,
      waitedFor: 'applied@billing',
      progress: { context: 'billing', stage: 'applied' },
    });
    expect(waiter.waiting).toBe(0);
  });

  it('resolves at once when the ledger already shows the stage', async () => {
    const id = await accept();
    await record(id, 'communications', 'applied');
    await expect(
      waiter.waitFor({
        entity: { type: 'customer', id },
        stage: 'delivered',
        context: 'communications',
        timeoutMs: 5_000,
      }),
    ).resolves.toMatchObject({ waitedFor: 'delivered@communications' });
  });

  it('waits for a decision to become ready', async () => {
    const id = await accept();
    const wait = watch(
      waiter.waitFor({ entity: { type: 'customer', id }, decision: 'send-letter', timeoutMs: 20_000 }),
    );
    await record(id, 'communications', 'delivered');
    await expect.poll(() => waiter.waiting).toBeGreaterThan(0);
    expect(wait.settled).toBe(false);
    await record(id, 'communications', 'applied');
    await expect.poll(() => wait.settled, { timeout: 15_000 }).toBe(true);
    expect(wait.value).toMatchObject({ waitedFor: 'decision send-letter', readiness: { ready: true } });
  });

  it('wakes on the relay publishing the change (published at the authority)', async () => {
    const log = await createPostgresLog({ db: t.db, schema: t.schema, partitions: 2 });
    const relay = createRelay({ db: t.db, backbone: log, schema: t.schema });
    const id = await accept();
    const wait = watch(
      waiter.waitFor({ entity: { type: 'customer', id }, stage: 'published', timeoutMs: 20_000 }),
    );
    await expect.poll(() => waiter.waiting).toBeGreaterThan(0);
    expect(wait.settled).toBe(false);
    // (A parallel suite's open transaction may hold the relay back for a moment.)
    await expect
      .poll(
        async () => {
          await relay.drain();
          return wait.settled;
        },
        { timeout: 30_000 },
      )
      .toBe(true);
    expect(wait.value).toMatchObject({ waitedFor: 'published@authority' });
  });

  it('times out naming each missing context and why: held, blocked, dead-lettered, not received', async () => {
    // Given policy holds the change, claims is blocked, billing dead-lettered it, communications has nothing
    const id = await accept();
    await record(id, 'policy', 'held', { state: 'under-review', reason: 'risk address moved' });
    await record(id, 'claims', 'blocked', { reason: 'investigation open' });
    const envelope = (
      await t.db.query<{ envelope: Envelope }>(
        `SELECT envelope || jsonb_build_object('entityversion', entity_version) AS envelope
         FROM ${s}.outbox WHERE entity_id = $1`,
        [id],
      )
    ).rows[0]!.envelope;
    const billing = createConsumer({
      name: 'billing',
      db: t.db,
      schema: t.schema,
      backbone: await createPostgresLog({ db: t.db, schema: t.schema, partitions: 2 }),
      handlers: {
        customer: {
          apply() {
            throw new TidemarkError('TM_INVALID_ARGUMENT', 'postcode 0000 does not exist', {
              retryable: false,
            });
          },
        },
      },
    });
    expect((await billing.handle(envelope)).map((o) => o.kind)).toEqual(['dead-lettered']);

    // When a caller waits for the change to be confirmed everywhere, briefly
    const error = await waiter
      .waitFor({ entity: { type: 'customer', id }, decision: 'confirm-address-change', timeoutMs: 300 })
      .then(
        () => undefined,
        (e: unknown) => e,
      );

    // Then the timeout says who is missing and why
    expect(isTidemarkError(error, 'TM_WAIT_TIMEOUT')).toBe(true);
    const e = error as TidemarkError;
    const missing = e.context.missing as MissingContext[];
    expect(Object.fromEntries(missing.map((m) => [m.context, m.reason]))).toEqual({
      billing: 'dead-lettered',
      policy: 'held',
      claims: 'blocked',
      communications: 'pending',
    });
    expect(e.message).toMatch(/did not reach decision confirm-address-change within 300 ms/);
    expect(e.message).toContain('policy holds it: under-review (risk address moved)');
    expect(e.message).toContain('claims: blocked — investigation open');
    expect(e.message).toMatch(/billing dead-lettered it \(dead letter \d+: postcode 0000 does not exist\)/);
    expect(e.status).toBe(504);
    expect(waiter.waiting).toBe(0);
  });

  it('refuses an unknown stage, context or decision, listing the valid ones', async () => {
    const id = await accept();
    const entity = { type: 'customer', id };
    await expect(
      waiter.waitFor({ entity, stage: 'aplied', context: 'billing', timeoutMs: 1_000 }),
    ).rejects.toThrow(
      /unknown stage "aplied"; valid stages: accepted, validated, published, delivered, held, .*applied/,
    );
    await expect(
      waiter.waitFor({ entity, stage: 'applied', context: 'biling', timeoutMs: 1_000 }),
    ).rejects.toThrow(
      "unknown context 'biling' for customer; valid contexts: customer-profile, billing, policy, claims, communications",
    );
    await expect(waiter.waitFor({ entity, decision: 'send-leter', timeoutMs: 1_000 })).rejects.toMatchObject({
      code: 'TM_UNKNOWN_DECISION',
      message: expect.stringContaining('declared decisions: send-letter, bill-at-new-address'),
    });
    await expect(
      waiter.waitFor({ entity, stage: 'applied', context: 'billing', timeoutMs: 60_000 }),
    ).rejects.toThrow('timeoutMs must be between 1 and 30000 ms (the configured maximum), got 60000');
    await expect(
      waiter.waitFor({
        entity: { type: 'customer', id: 'nobody' },
        stage: 'applied',
        context: 'billing',
        timeoutMs: 1_000,
      }),
    ).rejects.toMatchObject({ code: 'TM_ENTITY_NOT_FOUND' });
    expect(waiter.waiting).toBe(0);
  });

  it('ends a wait when its signal aborts and forgets the waiter', async () => {
    const id = await accept();
    const controller = new AbortController();
    const wait = waiter.waitFor({
      entity: { type: 'customer', id },
      stage: 'applied',
      context: 'billing',
      timeoutMs: 20_000,
      signal: controller.signal,
    });
    await expect.poll(() => waiter.waiting).toBe(1);
    controller.abort(new Error('client went away'));
    await expect(wait).rejects.toThrow('client went away');
    expect(waiter.waiting).toBe(0);
  });

  it('serves many waiters of one entity from one notification', async () => {
    const id = await accept();
    const waits = Array.from({ length: 50 }, () =>
      waiter.waitFor({
        entity: { type: 'customer', id },
        stage: 'applied',
        context: 'policy',
        timeoutMs: 20_000,
      }),
    );
    await expect.poll(() => waiter.waiting).toBe(50);
    await record(id, 'policy', 'applied');
    const outcomes = await Promise.all(waits);
    expect(outcomes.every((o) => o.progress?.stage === 'applied')).toBe(true);
  });
});
