import type { Backbone, PublishOptions, SubscribeOptions, Subscription, BatchHandler } from '../backbone.js';
import type { Envelope } from '../../envelope/types.js';
import type { Db, Sql } from '../../store/db.js';
import { quoteIdentifier } from '../../store/identifier.js';
import { TidemarkError } from '../../errors.js';
import { partitionOf } from '../partition.js';
import { logStatements } from './sql.js';
import { joinGroup, type GroupTiming } from './group.js';
import { openHistory } from './history.js';

export interface PostgresLogOptions {
  /** The database holding the log (for the embedded mode, the authority's database). */
  readonly db: Db;
  readonly schema?: string;
  /** Partition count, fixed when the log is first created (default 16). */
  readonly partitions?: number;
  /** Lease and polling timings; the defaults suit most deployments. */
  readonly timing?: Partial<GroupTiming>;
}

export interface PartitionLag {
  readonly partition: number;
  readonly committed: number;
  readonly head: number;
  readonly pending: number;
  readonly owner: string | null;
}

export interface PostgresLogBackbone extends Backbone {
  history: NonNullable<Backbone['history']>;
  position: NonNullable<Backbone['position']>;
  seek: NonNullable<Backbone['seek']>;
  /** Per-partition progress of one consumer group. */
  groupLag(group: string): Promise<PartitionLag[]>;
}

export const logChannel = (schema: string): string => `tidemark_log_${schema}`;

/**
 * The notification payload of an append: the partitions that got rows, so a member wakes only
 * the workers with something to read (16 partitions would otherwise mean 16 reads per append).
 * Empty (wake everything) when the list would not fit in a notification.
 */
export function partitionsPayload(touched: readonly number[]): string {
  const payload = [...new Set(touched)].sort((a, b) => a - b).join(',');
  return payload.length > 7_000 ? '' : payload;
}

/**
 * The embedded backbone: a `log` table in PostgreSQL (or PGlite). Needs no broker, joins
 * the relay's transaction so outbox → log is exactly-once, and keeps per-group
 * checkpoints with leased partitions so several consumer instances can share it.
 * Run `migrate(db, schema)` first.
 */
export async function createPostgresLog(options: PostgresLogOptions): Promise<PostgresLogBackbone> {
  const schema = options.schema ?? 'tidemark';
  const s = quoteIdentifier(schema, 'schema name');
  const sql = logStatements(s, schema);
  const db = options.db;
  const wanted = options.partitions ?? 16;
  if (!Number.isInteger(wanted) || wanted < 1 || wanted > 4096) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `partitions must be an integer from 1 to 4096, got ${wanted}`,
    );
  }
  await db.query(sql.ensureMeta, [wanted]);
  const meta = await db.query<{ partitions: number }>(sql.readMeta);
  const partitions = Number(meta.rows[0]?.partitions);
  if (options.partitions !== undefined && partitions !== wanted) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `the log in schema ${schema} has ${partitions} partitions, but ${wanted} were configured; ` +
        `configure partitions: ${partitions} (changing the count of an existing log would break per-key order)`,
      { context: { schema, existing: partitions, configured: wanted } },
    );
  }
  const channel = logChannel(schema);
  const subscriptions = new Set<Subscription>();

  async function append(tx: Sql, batch: readonly Envelope[]): Promise<void> {
    const touched = batch.map((e) => partitionOf(e.partitionkey, partitions));
    await tx.query(sql.lock, [sql.lockKey]);
    await tx.query(sql.append, [
      touched,
      batch.map((e) => e.id),
      batch.map((e) => e.partitionkey),
      batch.map((e) => JSON.stringify(e)),
    ]);
    await tx.query(sql.notify, [channel, partitionsPayload(touched)]);
  }

  return {
    name: 'postgres-log',
    capabilities: {
      persistent: true,
      consumerGroups: true,
      idempotentPublish: true,
      transactionalPublish: true,
    },
    partitions,
    database: db,
    async publish(batch: readonly Envelope[], publishOptions: PublishOptions = {}) {
      if (batch.length === 0) return;
      if (publishOptions.tx) await append(publishOptions.tx, batch);
      else await db.transaction((tx) => append(tx, batch));
    },
    async subscribe(group: string, handler: BatchHandler, subscribeOptions: SubscribeOptions = {}) {
      const subscription = await joinGroup({
        db,
        sql,
        channel,
        group,
        partitions,
        handler,
        options: subscribeOptions,
        timing: options.timing,
        onStop: () => subscriptions.delete(subscription),
      });
      subscriptions.add(subscription);
      return subscription;
    },
    history: (query) => openHistory(db, sql, query),
    async publishFromOutbox(tx, outbox) {
      if (outbox.rows.length === 0) return;
      await tx.query(sql.lock, [sql.lockKey]);
      const touched = outbox.rows.map((r) => partitionOf(r.partitionKey, partitions));
      await tx.query(sql.appendFromOutbox(outbox.quotedTable), [
        outbox.rows.map((r) => r.txid),
        outbox.rows.map((r) => r.position),
        touched,
        outbox.rows.map((r) => r.partitionKey),
      ]);
      await tx.query(sql.notify, [channel, partitionsPayload(touched)]);
    },
    async position() {
      return Number((await db.query<{ head: number }>(sql.head)).rows[0]?.head ?? 0);
    },
    async seek(group: string, position: number) {
      const moved = await db.query(sql.seek, [group, partitions, position]);
      if (moved.rowCount < partitions) {
        throw new TidemarkError(
          'TM_INVALID_ARGUMENT',
          `consumer group '${group}' is running (some partitions are leased), so it cannot be moved; stop it first`,
          { context: { group, position } },
        );
      }
    },
    async groupLag(group: string) {
      const result = await db.query<PartitionLag>(sql.groupLag, [group]);
      return result.rows.map((r) => ({
        partition: Number(r.partition),
        committed: Number(r.committed),
        head: Number(r.head),
        pending: Number(r.pending),
        owner: r.owner,
      }));
    },
    async close() {
      await Promise.all([...subscriptions].map((sub) => sub.stop()));
    },
  };
}
