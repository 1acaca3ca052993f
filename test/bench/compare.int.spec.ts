import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresTarget, type Target } from '../../bench/lib/targets.js';
import type { Inspect } from '../../bench/compare/phase.js';
import { compareSettings, runComparison, type CompareFigures } from '../../bench/compare/run.js';
import type { Db } from '../../src/store/db.js';
import { natsAvailable } from '../contract/backbone/nats-service.js';
import { postgresAvailable, postgresUrl } from '../support/services.js';

const available = (await postgresAvailable()) && (await natsAvailable());

/** What the tables say, read before the harness drops a phase's schema. */
interface Truth {
  readonly committed: number;
  readonly unapplied: ReadonlySet<string>;
  readonly unappliedBehindCursor: number;
  readonly reportedLost: ReadonlySet<string>;
  readonly reportedCommitted: number;
  readonly reportedDuplicated: number;
  readonly effectRows: number;
  readonly distinctEffects: number;
}

const ids = async (db: Db, sql: string) =>
  new Set((await db.query<{ event_id: string }>(sql)).rows.map((r) => r.event_id));

const count = async (db: Db, sql: string) => Number((await db.query<{ n: number }>(sql)).rows[0]!.n);

describe.skipIf(!available)('npm run bench -- compare, on a tiny workload', () => {
  let target: Target;
  let admin: Db;
  let figures: CompareFigures;
  const truths = new Map<string, Truth>();

  const inspect =
    (contender: string, phase: string): Inspect =>
    async (schema, phaseFigures, lostIds) => {
      const s = `"${schema}"`;
      // The outbox table holds exactly the committed events of the naive contender and of Tidemark.
      const outbox = contender === 'naive-outbox' ? `${s}.naive_outbox` : `${s}.outbox`;
      const unapplied = await ids(
        admin,
        `SELECT o.event_id::text FROM ${outbox} o
       WHERE NOT EXISTS (SELECT 1 FROM ${s}.bench_effects e WHERE e.event_id = o.event_id::text)`,
      );
      truths.set(`${contender} ${phase}`, {
        committed: await count(admin, `SELECT count(*)::int AS n FROM ${outbox}`),
        unapplied,
        unappliedBehindCursor:
          contender === 'naive-outbox'
            ? await count(
                admin,
                `SELECT count(*)::int AS n FROM ${outbox} o WHERE o.id <= (SELECT last_id FROM ${s}.naive_cursor)
               AND NOT EXISTS (SELECT 1 FROM ${s}.bench_effects e WHERE e.event_id = o.event_id)`,
              )
            : 0,
        reportedLost: lostIds,
        reportedCommitted: phaseFigures.committed,
        reportedDuplicated: phaseFigures.duplicated,
        effectRows: await count(admin, `SELECT count(*)::int AS n FROM ${s}.bench_effects`),
        distinctEffects: await count(
          admin,
          `SELECT count(DISTINCT event_id)::int AS n FROM ${s}.bench_effects`,
        ),
      });
    };

  beforeAll(async () => {
    target = await openPostgresTarget(postgresUrl);
    admin = await target.connect(1, 'compare-test');
    const settings = {
      ...compareSettings(300, true),
      // More clients than cores, so commits overtake each other as they do in production.
      clients: 8,
      atEightyPercent: false,
      only: ['tidemark-postgres-log', 'tidemark-nats-jetstream', 'naive-outbox'],
    };
    figures = await runComparison({ ...target, connectionString: postgresUrl }, settings, inspect);
  }, 240_000);

  afterAll(async () => {
    await admin?.close();
    await target?.close();
  });

  it('Given the naive outbox, its reported losses are exactly the committed events its cursor passed without applying', () => {
    const naive = [...truths].filter(([k]) => k.startsWith('naive-outbox '));
    expect(naive.length).toBe(2);
    for (const [, t] of naive) {
      expect(t.reportedCommitted).toBe(t.committed);
      expect([...t.reportedLost].sort()).toEqual([...t.unapplied].sort());
      // Lost, not late: every unapplied row lies at or below the poller's committed cursor.
      expect(t.unappliedBehindCursor).toBe(t.unapplied.size);
      expect(t.reportedDuplicated).toBe(t.effectRows - t.distinctEffects);
    }
    const row = figures.contenders.find((c) => c.key === 'naive-outbox')!;
    expect(row.skipped).toBeUndefined();
    expect(row.burst!.lost + row.atRate!.lost).toBe(naive.reduce((n, [, t]) => n + t.unapplied.size, 0));
  });

  it('Given Tidemark over either backbone, every committed event is applied exactly once', () => {
    for (const key of ['tidemark-postgres-log', 'tidemark-nats-jetstream']) {
      const row = figures.contenders.find((c) => c.key === key)!;
      expect(row.skipped).toBeUndefined();
      const phases = [...truths].filter(([k]) => k.startsWith(`${key} `));
      expect(phases.length).toBe(2);
      for (const [, t] of phases) {
        expect(t.committed).toBe(t.reportedCommitted);
        expect(t.unapplied.size).toBe(0);
        expect(t.reportedLost.size).toBe(0);
        expect(t.effectRows).toBe(t.committed);
        expect(t.reportedDuplicated).toBe(0);
      }
      expect(row.burst!.applied).toBe(300);
    }
  });
});
