import { createPostgresLog } from '../../src/backbone/postgres-log/index.js';
import { createConsumer } from '../../src/consumer/index.js';
import type { Db } from '../../src/store/db.js';
import { sleep } from '../../src/util/wakeup.js';

/** One way of applying the same backlog to a projection table; resolves with the events applied. */
export interface ApplyVariant {
  readonly key: string;
  readonly label: string;
  run(input: VariantInput): Promise<number>;
}

export interface VariantInput {
  readonly db: Db;
  readonly schema: string;
  readonly table: string;
  readonly events: number;
  readonly partitions: number;
  readonly batchSize: number;
  readonly concurrency: number;
}

const upsert = (table: string) =>
  `INSERT INTO ${table} (id, version, data) VALUES ($1, $2, $3::jsonb)
   ON CONFLICT (id) DO UPDATE SET version = $2, data = $3::jsonb`;

/**
 * What a team hand-rolls without exactly-once: read a page of the log per partition, upsert
 * each event into the projection and move the checkpoint, one transaction per page. No inbox,
 * no version check, no ordering guard: the floor the runtime's guarantees are priced against.
 */
export const handWritten: ApplyVariant = {
  key: 'hand-written',
  label: 'hand-written (no dedup, no order guard)',
  async run({ db, schema, table, partitions, batchSize, concurrency }) {
    const s = `"${schema}"`;
    await db.query(
      `CREATE TABLE ${s}.floor_checkpoints (partition int PRIMARY KEY, log_offset bigint NOT NULL)`,
    );
    let applied = 0;
    const worker = async (first: number) => {
      for (let p = first; p < partitions; p += concurrency) {
        let offset = 0;
        for (;;) {
          const page = await db.query<{ log_offset: string; envelope: Record<string, unknown> }>(
            `SELECT log_offset, envelope FROM ${s}.log WHERE partition = $1 AND log_offset > $2
             ORDER BY log_offset LIMIT $3`,
            [p, offset, batchSize],
          );
          if (page.rows.length === 0) break;
          await db.transaction(async (tx) => {
            for (const row of page.rows) {
              const e = row.envelope;
              await tx.query(upsert(table), [e.entityid, e.entityversion, JSON.stringify(e.data)]);
            }
            offset = Number(page.rows[page.rows.length - 1]!.log_offset);
            await tx.query(
              `INSERT INTO ${s}.floor_checkpoints VALUES ($1, $2)
               ON CONFLICT (partition) DO UPDATE SET log_offset = $2`,
              [p, offset],
            );
          });
          applied += page.rows.length;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(i)));
    return applied;
  },
};

/** Tidemark's consumer over the same log: inbox, version rules, ledger stages, one group of its own. */
export function tidemarkConsumer(batchApply: boolean, ledger = true): ApplyVariant {
  return {
    key: `${batchApply ? 'tidemark-batch' : 'tidemark-per-event'}${ledger ? '' : '-no-ledger'}`,
    label: `${batchApply ? 'Tidemark consumer (batch apply)' : 'Tidemark consumer (one transaction per event)'}${
      ledger ? '' : ', ledger: false'
    }`,
    async run({ db, schema, table, events, partitions, batchSize, concurrency }) {
      const seen = new Set<string>();
      let lastChange = performance.now();
      const consumer = createConsumer({
        name: `bench-${batchApply ? 'batch' : 'single'}${ledger ? '' : '-noledger'}`,
        ...(ledger ? {} : { ledger: false as const }),
        db,
        backbone: await createPostgresLog({ db, schema, partitions }),
        schema,
        batchApply,
        batchSize,
        partitionConcurrency: concurrency,
        onOutcome(outcome) {
          if (outcome.kind !== 'applied') return;
          seen.add(outcome.envelope.id);
          lastChange = performance.now();
        },
        handlers: {
          account: {
            async apply(tx, event) {
              await tx.query(upsert(table), [
                event.entityid,
                event.entityversion,
                JSON.stringify(event.data),
              ]);
            },
          },
        },
      });
      await consumer.start();
      try {
        while (seen.size < events && performance.now() - lastChange < 10_000) await sleep(5);
      } finally {
        await consumer.stop();
      }
      return seen.size;
    },
  };
}
