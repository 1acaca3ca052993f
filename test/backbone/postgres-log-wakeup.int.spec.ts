import { afterEach, describe, expect, it } from 'vitest';
import { createPostgresLog, partitionsPayload } from '../../src/backbone/postgres-log/index.js';
import { partitionOf } from '../../src/backbone/partition.js';
import { createEnvelope } from '../../src/envelope/index.js';
import type { Db } from '../../src/store/db.js';
import { embeddedDb, postgresAvailable, serverDb, type TestDb } from '../support/services.js';

/** Counts the partition reads a member makes, per partition, through its own Db. */
function countingReads(db: Db): { db: Db; reads: Map<number, number> } {
  const reads = new Map<number, number>();
  const counted: Db = {
    ...db,
    query: (async (text: string, params?: unknown[]) => {
      if (text.includes('log_offset > $2 ORDER BY log_offset LIMIT $3')) {
        const p = Number(params![0]);
        reads.set(p, (reads.get(p) ?? 0) + 1);
      }
      return db.query(text, params);
    }) as Db['query'],
  };
  return { db: counted, reads };
}

const partitions = 16;
// Polling so slow that any read during the test comes from a notification.
const timing = { leaseMs: 60_000, heartbeatMs: 30_000, pollMs: 60_000 };

describe('postgres-log wakes only the partitions an append touched', () => {
  it('lists the touched partitions once each, sorted, or nothing when they would not fit', () => {
    expect(partitionsPayload([5, 1, 5, 3])).toBe('1,3,5');
    expect(partitionsPayload(Array.from({ length: 4096 }, (_, i) => i))).toBe('');
  });

  const stores: TestDb[] = [];
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.cleanup();
  });

  it.each([
    ['PGlite', embeddedDb],
    ['server PostgreSQL', serverDb],
  ] as const)('on %s: one append of one key reads one partition, not all of them', async (name, open) => {
    if (name === 'server PostgreSQL' && !(await postgresAvailable())) {
      if (process.env.REQUIRE_SERVICES === '1')
        throw new Error('server PostgreSQL is required (REQUIRE_SERVICES=1)');
      return;
    }
    const store = await open();
    stores.push(store);
    const { db, reads } = countingReads(store.db);
    const backbone = await createPostgresLog({ db, schema: store.schema, partitions, timing });
    const seen: string[] = [];
    const subscription = await backbone.subscribe(
      'wake',
      async (messages) => {
        for (const m of messages) seen.push(m.envelope.entityid);
      },
      { concurrency: partitions },
    );
    try {
      // Each worker's first read finds the log empty; then all wait for a notification.
      await expect.poll(() => reads.size, { timeout: 10_000 }).toBe(partitions);
      const before = new Map(reads);
      const envelope = createEnvelope({
        kind: 'state',
        authority: 'profile',
        entityType: 'customer',
        entityId: 'c-1',
        entityVersion: 1,
        data: {},
      });
      await backbone.publish([envelope]);
      await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(1);
      // A moment for any other worker a notification might have woken to read.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const target = partitionOf(envelope.partitionkey, partitions);
      const woken = [...reads].filter(([p, n]) => n > (before.get(p) ?? 0)).map(([p]) => p);
      expect(woken).toEqual([target]);
    } finally {
      await subscription.stop();
    }
  });
});
