import { describe, expect, it } from 'vitest';
import { createPostgresLog } from '../../src/backbone/postgres-log/index.js';
import { runDemo } from '../../src/demo/run.js';
import type { Db } from '../../src/store/db.js';
import { openPGlite } from '../../src/store/pglite/index.js';

describe('insurer demo, failing half-way', () => {
  it('stops everything it started before the failure reaches the caller (a CLI run then exits)', async () => {
    const db = await openPGlite();
    const closed: string[] = [];
    let estateRunning: boolean | undefined;
    let consumers: readonly { subscription: unknown }[] = [];
    try {
      const failure = runDemo({
        db,
        customers: 3,
        addressChanges: 6,
        seed: 5,
        pauseMs: 1,
        openBackbone: async (database, schema) => {
          const log = await createPostgresLog({ db: database, schema, partitions: 2 });
          return {
            ...log,
            close: async () => {
              closed.push('backbone');
              await log.close();
            },
          };
        },
        openCommunicationsDb: async () => {
          const own = await openPGlite();
          return {
            ...own,
            close: async () => {
              closed.push('communications database');
              await own.close();
            },
          } satisfies Db;
        },
        // The estate is running when the report is handed over; the hook then fails.
        serve: async (_report, estate) => {
          consumers = estate.consumers;
          estateRunning = consumers.every((c) => c.subscription !== undefined);
          throw new Error('the dashboard could not start');
        },
      });
      await expect(failure).rejects.toThrow('the dashboard could not start');
      expect(estateRunning).toBe(true);
      expect(consumers.length).toBeGreaterThan(0);
      expect(consumers.every((c) => c.subscription === undefined)).toBe(true);
      expect(closed.sort()).toEqual(['backbone', 'communications database']);
    } finally {
      await db.close();
    }
  }, 120_000);
});
