import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from '../support/both-databases.js';
import type { TestDb } from '../support/services.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { createLedger, recordStages, type LedgerStage } from '../../src/ledger/index.js';
import { parseTopology, starterTopology, type Topology } from '../../src/topology/index.js';
import { quoteIdentifier } from '../../src/store/identifier.js';
import { createMetrics } from '../../src/obs/index.js';

const kinds = await databaseKinds();
const parsed = parseTopology(starterTopology);
if (!parsed.valid) throw new Error('the starter topology must parse');
const topology: Topology = parsed.topology;
const authority = 'customer-profile';
const minute = 60_000;

/** A stage a consumer context recorded, minutes after the change was accepted. */
interface Given {
  readonly context: string;
  readonly stage: LedgerStage;
  readonly version?: number;
  readonly detail?: Record<string, unknown>;
}

interface Case {
  readonly name: string;
  readonly decision: string;
  /** Versions to accept (default 1). */
  readonly versions?: number;
  /** The version asked about (default: the latest). */
  readonly ask?: number;
  readonly given: readonly Given[];
  /** Minutes after acceptance at which the question is asked (default 5). */
  readonly askedAfterMinutes?: number;
  readonly ready: boolean;
  readonly missing: readonly string[];
  readonly heldBy?: readonly string[];
  readonly explanation: RegExp;
}

const farFuture = 60 * 24 * 70; // minutes: ten weeks on, every cut-off and cycle has passed

const cases: readonly Case[] = [
  {
    name: 'nothing received yet',
    decision: 'send-letter',
    given: [],
    ready: false,
    missing: ['applied@communications'],
    explanation: /send-letter cannot use yet .* v1 .*communications has not received it yet/,
  },
  {
    name: 'received but not applied',
    decision: 'send-letter',
    given: [{ context: 'communications', stage: 'delivered' }],
    ready: false,
    missing: ['applied@communications'],
    explanation: /communications received it .* but does not use it yet/,
  },
  {
    name: 'applied where the decision needs it',
    decision: 'send-letter',
    given: [
      { context: 'communications', stage: 'delivered' },
      { context: 'communications', stage: 'applied' },
    ],
    ready: true,
    missing: [],
    explanation: /send-letter can use .* v1 .*communications uses it since/,
  },
  {
    name: 'held for underwriting review',
    decision: 'quote-at-new-risk-address',
    given: [
      { context: 'policy', stage: 'held', detail: { state: 'under-review', reason: 'risk address moved' } },
    ],
    ready: false,
    missing: ['applied@policy'],
    heldBy: ['policy:held'],
    explanation: /policy holds it: under-review \(risk address moved\)/,
  },
  {
    name: 'review ended in approval',
    decision: 'quote-at-new-risk-address',
    given: [
      { context: 'policy', stage: 'held', detail: { state: 'under-review' } },
      { context: 'policy', stage: 'applied' },
    ],
    ready: true,
    missing: [],
    explanation: /policy uses it since/,
  },
  {
    name: 'review ended in rejection',
    decision: 'quote-at-new-risk-address',
    given: [
      { context: 'policy', stage: 'held', detail: { state: 'under-review' } },
      { context: 'policy', stage: 'rejected', detail: { reason: 'address outside the insured area' } },
    ],
    ready: false,
    missing: ['applied@policy'],
    heldBy: ['policy:rejected'],
    explanation: /policy rejected it — address outside the insured area/,
  },
  {
    name: 'blocked by an open investigation',
    decision: 'confirm-address-change',
    given: [
      { context: 'billing', stage: 'applied' },
      { context: 'billing', stage: 'reconciled' },
      { context: 'policy', stage: 'applied' },
      { context: 'communications', stage: 'applied' },
      { context: 'claims', stage: 'blocked', detail: { reason: 'investigation open' } },
    ],
    ready: false,
    missing: ['applied@claims'],
    heldBy: ['claims:blocked'],
    explanation: /claims: blocked — investigation open/,
  },
  {
    name: 'deferred to the next billing cycle, not yet due',
    decision: 'bill-at-new-address',
    given: [
      {
        context: 'billing',
        stage: 'deferred',
        detail: { until: 'NEXT_CYCLE', calendar: 'next-billing-cycle' },
      },
    ],
    ready: false,
    missing: ['applied@billing'],
    heldBy: ['billing:deferred'],
    explanation: /billing uses it from \d+ \w+ \(next-billing-cycle\)/,
  },
  {
    name: 'deferral come due and the cut-off passed',
    decision: 'bill-at-new-address',
    given: [
      {
        context: 'billing',
        stage: 'deferred',
        detail: { until: 'NEXT_CYCLE', calendar: 'next-billing-cycle' },
      },
    ],
    askedAfterMinutes: farFuture,
    ready: true,
    missing: [],
    explanation: /bill-at-new-address can use .*billing uses it since/,
  },
  {
    name: 'applied, but the billing cut-off has not passed',
    decision: 'bill-at-new-address',
    given: [{ context: 'billing', stage: 'applied' }],
    ready: false,
    missing: [],
    explanation: /the billing-cut-off on \d+ \w+ 18:00 has not passed/,
  },
  {
    name: 'a later version applied covers an earlier one',
    decision: 'send-letter',
    versions: 2,
    ask: 1,
    given: [{ context: 'communications', stage: 'applied', version: 2 }],
    ready: true,
    missing: [],
    explanation: /can use .* v1 /,
  },
  {
    name: 'a rejection of an earlier version does not hold a later one',
    decision: 'quote-at-new-risk-address',
    versions: 2,
    given: [
      { context: 'policy', stage: 'rejected', version: 1, detail: { reason: 'no' } },
      { context: 'policy', stage: 'applied', version: 2 },
    ],
    ready: true,
    missing: [],
    explanation: /can use .* v2 /,
  },
  {
    name: 'a deferred copy that reconciliation confirmed meets reconciled, though not yet in use',
    decision: 'confirm-address-change',
    given: [
      {
        context: 'billing',
        stage: 'deferred',
        detail: { until: 'NEXT_CYCLE', calendar: 'next-billing-cycle' },
      },
      { context: 'billing', stage: 'reconciled' },
      { context: 'policy', stage: 'applied' },
      { context: 'claims', stage: 'applied' },
      { context: 'communications', stage: 'applied' },
    ],
    ready: true,
    missing: [],
    explanation: /billing uses it from \d+ \w+ \(next-billing-cycle\), copy reconciled/,
  },
  {
    name: 'the same reconciled deferral does not make the copy applied',
    decision: 'bill-at-new-address',
    given: [
      {
        context: 'billing',
        stage: 'deferred',
        detail: { until: 'NEXT_CYCLE', calendar: 'next-billing-cycle' },
      },
      { context: 'billing', stage: 'reconciled' },
    ],
    ready: false,
    missing: ['applied@billing'],
    heldBy: ['billing:deferred'],
    explanation: /billing uses it from \d+ \w+ \(next-billing-cycle\), copy reconciled/,
  },
  {
    name: 'reconciled is needed, applied is not enough',
    decision: 'confirm-address-change',
    given: [
      { context: 'billing', stage: 'applied' },
      { context: 'policy', stage: 'applied' },
      { context: 'claims', stage: 'applied' },
      { context: 'communications', stage: 'applied' },
    ],
    ready: false,
    missing: ['reconciled@billing'],
    explanation: /billing uses it since .*; needs reconciled/,
  },
];

describe.each(kinds)('readiness on $name', (kind) => {
  let t: TestDb;
  let s: string;
  let seq = 0;

  beforeAll(async () => {
    t = await kind.open();
    s = quoteIdentifier(t.schema);
    await registerAuthority(t.db, { entityType: 'customer', context: authority }, t.schema);
  });
  afterAll(async () => {
    await t.cleanup();
  });

  async function accept(id: string, versions: number): Promise<Date> {
    const p = createProducer({ context: authority, schema: t.schema });
    for (let v = 1; v <= versions; v++) {
      await t.db.transaction((tx) =>
        p.append(
          tx,
          { type: 'customer', id },
          { kind: 'domain', type: 'CustomerAddressChanged', data: { v } },
        ),
      );
    }
    const row = await t.db.query<{ time: string }>(
      `SELECT envelope->>'time' AS time FROM ${s}.outbox WHERE entity_id = $1 ORDER BY position LIMIT 1`,
      [id],
    );
    return new Date(row.rows[0]!.time);
  }

  it.each(cases)('$name', async (c) => {
    const id = `c-${++seq}`;
    const acceptedAt = await accept(id, c.versions ?? 1);
    const nextCycle = new Date(Date.UTC(acceptedAt.getUTCFullYear(), acceptedAt.getUTCMonth() + 1, 1));
    await t.db.transaction((tx) =>
      recordStages(
        tx,
        s,
        c.given.map((g, i) => ({
          entityType: 'customer',
          entityId: id,
          version: g.version ?? c.versions ?? 1,
          context: g.context,
          stage: g.stage,
          authority,
          at: new Date(acceptedAt.getTime() + (i + 1) * 1_000),
          ...(g.detail
            ? {
                detail: Object.fromEntries(
                  Object.entries(g.detail).map(([k, v]) => [
                    k,
                    v === 'NEXT_CYCLE' ? nextCycle.toISOString() : v,
                  ]),
                ),
              }
            : {}),
        })),
      ),
    );
    const askedAt = new Date(acceptedAt.getTime() + (c.askedAfterMinutes ?? 5) * minute);
    const ledger = createLedger({ db: t.db, schema: t.schema, topology, now: () => askedAt });
    const answer = await ledger.ready(c.decision, 'customer', id, c.ask);
    expect(answer.ready).toBe(c.ready);
    expect(answer.missing).toEqual(c.missing);
    expect(answer.heldBy.map((h) => `${h.context}:${h.stage}`)).toEqual(c.heldBy ?? []);
    expect(answer.explanation).toMatch(c.explanation);
  });

  it('settled only once every receiving context applied and reconciled the version', async () => {
    const id = `c-${++seq}`;
    const acceptedAt = await accept(id, 1);
    const ledger = createLedger({
      db: t.db,
      schema: t.schema,
      topology,
      now: () => new Date(acceptedAt.getTime() + minute),
    });
    const consumers = ['billing', 'policy', 'claims', 'communications'];
    for (const [i, context] of consumers.entries()) {
      for (const stage of ['applied', 'reconciled'] as const) {
        expect((await ledger.status('customer', id)).versions[0]!.settled).toBe(false);
        await t.db.transaction((tx) =>
          recordStages(tx, s, [
            {
              entityType: 'customer',
              entityId: id,
              version: 1,
              context,
              stage,
              authority,
              at: new Date(acceptedAt.getTime() + i * 1_000),
            },
          ]),
        );
      }
    }
    const status = await ledger.status('customer', id);
    expect(status.versions[0]!.settled).toBe(true);
    expect(status.summary).toMatch(/Settled everywhere\.$/);
  });

  it('observes readiness lag once per decision and version: from acceptance to the last requirement met', async () => {
    const id = `c-${++seq}`;
    const acceptedAt = await accept(id, 1);
    await t.db.transaction((tx) =>
      recordStages(tx, s, [
        {
          entityType: 'customer',
          entityId: id,
          version: 1,
          context: 'communications',
          stage: 'applied',
          authority,
          at: new Date(acceptedAt.getTime() + 90_000),
        },
      ]),
    );
    const metrics = createMetrics();
    const ledger = createLedger({
      db: t.db,
      schema: t.schema,
      topology,
      metrics,
      now: () => new Date(acceptedAt.getTime() + 5 * minute),
    });
    expect((await ledger.ready('send-letter', 'customer', id)).ready).toBe(true);
    await ledger.ready('send-letter', 'customer', id);
    await ledger.status('customer', id);
    const histogram = (await metrics.readinessLag.get()).values;
    const count = histogram.find(
      (v) => v.metricName === 'tidemark_readiness_lag_seconds_count' && v.labels.decision === 'send-letter',
    );
    const sum = histogram.find(
      (v) => v.metricName === 'tidemark_readiness_lag_seconds_sum' && v.labels.decision === 'send-letter',
    );
    expect(count?.value).toBe(1);
    expect(sum?.value).toBeCloseTo(90, 0);
    // A decision that is not ready is not observed.
    expect(histogram.some((v) => v.labels.decision === 'bill-at-new-address')).toBe(false);
  });

  it('an unknown entity is "no such entity" with the types known here', async () => {
    const ledger = createLedger({ db: t.db, schema: t.schema, topology });
    await expect(ledger.status('customer', 'nobody')).rejects.toMatchObject({
      code: 'TM_ENTITY_NOT_FOUND',
      message: expect.stringMatching(/no such entity: customer\/nobody .*entity types known here: customer/),
    });
  });

  it('an unknown decision names the declared ones', async () => {
    const id = `c-${++seq}`;
    await accept(id, 1);
    const ledger = createLedger({ db: t.db, schema: t.schema, topology });
    await expect(ledger.ready('send-invoice', 'customer', id)).rejects.toMatchObject({
      code: 'TM_UNKNOWN_DECISION',
    });
  });
});
