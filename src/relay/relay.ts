import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Backbone } from '../backbone/backbone.js';
import type { Envelope } from '../envelope/types.js';
import type { Db, Sql, Unlisten } from '../store/db.js';
import { quoteIdentifier } from '../store/identifier.js';
import { outboxChannel } from '../producer/channel.js';
import { backoffDelay } from '../util/backoff.js';
import { Wakeup, sleep } from '../util/wakeup.js';
import { relayStatements } from './sql.js';
import { diagnoseHorizon, type HorizonDiagnosis } from './horizon.js';
import { orderVersionsWithinBatch, orderWithinBatch } from './order.js';
import { traceRelayBatch } from '../obs/tracing.js';
import { ledgerChannel, ledgerPayload } from '../ledger/record.js';

export interface RelayOptions {
  /** Database holding the outbox. */
  readonly db: Db;
  readonly backbone: Backbone;
  readonly schema?: string;
  /** Name of the cursor; relays with the same name share one cursor and take turns (default `default`). */
  readonly name?: string;
  /** Most rows per batch (default 500). */
  readonly batchSize?: number;
  /** Polling fallback when no NOTIFY arrives (default 250 ms). */
  readonly pollMs?: number;
  /**
   * After a batch that moved rows, poll this often (default 10 ms) for `hotForMs` (default
   * 250 ms) before falling back to `pollMs`: producers notify at most once per interval (see
   * the producer's `notify`), so under traffic the relay finds the appends in between itself.
   */
  readonly hotPollMs?: number;
  readonly hotForMs?: number;
  /** Lease on the cursor; a crashed relay's cursor is taken over after it (default 10 s). */
  readonly leaseMs?: number;
  readonly onError?: (error: unknown) => void;
}

export interface RelayCursor {
  readonly txid: string;
  readonly position: number;
}

export interface RelayStatus {
  readonly name: string;
  readonly cursor: RelayCursor;
  readonly relayed: number;
  /** Committed outbox rows after the cursor; some may be waiting for an older open transaction. */
  readonly backlog: number;
  readonly owner: string | null;
  /** The oldest open transaction with an id: while it is open, later commits cannot be relayed. */
  readonly oldestOpenTransaction?: { pid: number; xid: string; state: string; ageMs: number };
  /** Whether an old open transaction holds committed rows back, which one, and since when. */
  readonly horizon?: HorizonDiagnosis;
}

export interface Relay {
  readonly name: string;
  readonly member: string;
  /** Runs until `stop()`: waits for the lease, then relays batches as they become safe to read. */
  start(): void;
  stop(): Promise<void>;
  /**
   * Relays one batch if this instance holds (or can take) the lease; returns how many rows
   * it moved. For tests, tools and benchmarks that drive the relay by hand.
   */
  relayOnce(): Promise<number>;
  /** Relays until nothing committed is left behind the cursor. */
  drain(): Promise<number>;
  status(): Promise<RelayStatus>;
}

export function createRelay(options: RelayOptions): Relay {
  const schema = options.schema ?? 'tidemark';
  const s = quoteIdentifier(schema, 'schema name');
  const sql = relayStatements(s);
  const { db, backbone } = options;
  const name = options.name ?? 'default';
  const batchSize = options.batchSize ?? 500;
  const pollMs = options.pollMs ?? 250;
  const hotPollMs = Math.min(options.hotPollMs ?? 10, pollMs);
  const hotForMs = options.hotForMs ?? 250;
  let lastMovedAt = Number.NEGATIVE_INFINITY;
  const leaseMs = options.leaseMs ?? 10_000;
  const member = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  // Publishing inside the relay's own transaction makes outbox → backbone exactly-once.
  const sameTransaction = backbone.capabilities.transactionalPublish && backbone.database === db;
  const wakeup = new Wakeup();
  let cursor: RelayCursor | undefined;
  let running = false;
  let loop: Promise<void> | undefined;
  let unlisten: Unlisten | undefined;
  /** When this member last extended its lease (claim, advance or renew), by the process clock. */
  let leaseExtendedAt = 0;

  async function claim(): Promise<boolean> {
    await db.query(sql.ensure, [name]);
    const result = await db.query<{ txid: string; position: number }>(sql.claim, [name, member, leaseMs]);
    const row = result.rows[0];
    cursor = row ? { txid: row.txid, position: Number(row.position) } : undefined;
    if (cursor) leaseExtendedAt = Date.now();
    return cursor !== undefined;
  }

  /** Wakes ledger waiters of the batch's entities: their `published` stage just appeared. */
  async function announcePublished(q: Sql, keys: Iterable<readonly [string, string]>): Promise<void> {
    await q.query('SELECT pg_notify($1, $2)', [ledgerChannel(schema), ledgerPayload(keys)]);
  }

  const copyInDatabase = sameTransaction && backbone.publishFromOutbox !== undefined;

  /** Reads keys only and lets the log copy the rows inside the database. */
  async function copyBatch(
    tx: Sql,
    from: RelayCursor,
  ): Promise<{ count: number; next: RelayCursor; keys: [string, string][] } | undefined> {
    const read = await tx.query<{
      txid: string;
      position: number;
      entity_type: string;
      entity_id: string;
      entity_version: number;
      partition_key: string;
    }>(sql.readRefs, [from.txid, from.position, batchSize]);
    if (read.rows.length === 0) return undefined;
    const last = read.rows[read.rows.length - 1]!;
    const rows = orderWithinBatch(
      read.rows,
      (r) => `${r.entity_type}\u0000${r.entity_id}`,
      (r) => Number(r.entity_version),
    );
    await backbone.publishFromOutbox!(tx, {
      quotedTable: `${s}.outbox`,
      rows: rows.map((r) => ({ txid: r.txid, position: Number(r.position), partitionKey: r.partition_key })),
    });
    return {
      count: rows.length,
      next: { txid: last.txid, position: Number(last.position) },
      keys: rows.map((r): [string, string] => [r.entity_type, r.entity_id]),
    };
  }

  async function moveBatch(
    tx: Sql,
    from: RelayCursor,
  ): Promise<{ count: number; next: RelayCursor } | 'lost'> {
    if (copyInDatabase) {
      const copied = await copyBatch(tx, from);
      if (!copied) return { count: 0, next: from };
      const advanced = await tx.query(sql.advance, [
        name,
        member,
        copied.next.txid,
        copied.next.position,
        copied.count,
        leaseMs,
      ]);
      if (advanced.rowCount === 0) return 'lost';
      await announcePublished(tx, copied.keys);
      return copied;
    }
    const read = await tx.query<{ txid: string; position: number; envelope: Envelope }>(sql.read, [
      from.txid,
      from.position,
      batchSize,
    ]);
    if (read.rows.length === 0) return { count: 0, next: from };
    const last = read.rows[read.rows.length - 1]!;
    const next = { txid: last.txid, position: Number(last.position) };
    const batch = orderVersionsWithinBatch(read.rows.map((r) => r.envelope));
    if (sameTransaction) await backbone.publish(batch, { tx });
    else await backbone.publish(batch);
    const advanced = await tx.query(sql.advance, [
      name,
      member,
      next.txid,
      next.position,
      batch.length,
      leaseMs,
    ]);
    if (advanced.rowCount === 0) return 'lost';
    await announcePublished(
      tx,
      batch.map((e): [string, string] => [e.entitytype, e.entityid]),
    );
    return { count: batch.length, next };
  }

  async function relayOnce(): Promise<number> {
    if (!cursor && !(await claim())) return 0;
    const from = cursor!;
    // Without the shared transaction it is at-least-once: a crash between publish and advance republishes.
    const outcome = await traceRelayBatch(
      name,
      () => (sameTransaction ? db.transaction((tx) => moveBatch(tx, from)) : moveBatch(db, from)),
      (moved) => (moved === 'lost' ? 0 : moved.count),
    );
    if (outcome === 'lost') {
      cursor = undefined;
      return 0;
    }
    cursor = outcome.next;
    // An advance extends the lease too; an empty batch advanced nothing.
    if (outcome.count > 0) leaseExtendedAt = Date.now();
    return outcome.count;
  }

  async function drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const moved = await relayOnce();
      total += moved;
      if (moved < batchSize) return total;
    }
  }

  async function run(): Promise<void> {
    let failures = 0;
    while (running) {
      try {
        if (!cursor && !(await claim())) {
          await wakeup.wait(Math.min(leaseMs / 2, 1_000));
          continue;
        }
        const moved = await relayOnce();
        failures = 0;
        if (moved > 0) lastMovedAt = performance.now();
        if (moved < batchSize) {
          // Renewing on every empty wake-up cost a write per notification; half a lease is soon enough.
          if (moved === 0 && cursor && Date.now() - leaseExtendedAt >= leaseMs / 2) {
            await db.query(sql.renew, [name, member, leaseMs]);
            leaseExtendedAt = Date.now();
          }
          await wakeup.wait(performance.now() - lastMovedAt < hotForMs ? hotPollMs : pollMs);
        }
      } catch (error) {
        failures++;
        options.onError?.(error);
        await sleep(backoffDelay(failures, { baseDelayMs: 100, maxDelayMs: 5_000 }));
      }
    }
  }

  return {
    name,
    member,
    start() {
      if (running) return;
      running = true;
      loop = (async () => {
        unlisten = await db.listen(outboxChannel(schema), () => wakeup.signal()).catch(() => undefined);
        await run();
      })();
    },
    async stop() {
      running = false;
      wakeup.signal();
      await loop;
      await unlisten?.().catch(() => undefined);
      unlisten = undefined;
      if (cursor) await db.query(sql.release, [name, member]).catch(() => undefined);
      cursor = undefined;
    },
    relayOnce,
    drain,
    async status() {
      await db.query(sql.ensure, [name]);
      const row = (
        await db.query<{ txid: string; position: number; relayed: number; owner: string | null }>(
          sql.checkpoint,
          [name],
        )
      ).rows[0]!;
      const backlog = (await db.query<{ backlog: number }>(sql.backlog, [row.txid, row.position])).rows[0]!;
      const holder = db.capabilities.concurrentTransactions
        ? (await db.query<{ pid: number; xid: string; state: string; age_ms: number }>(sql.holder)).rows[0]
        : undefined;
      const horizon = await diagnoseHorizon(db, s, name);
      return {
        name,
        horizon,
        cursor: { txid: row.txid, position: Number(row.position) },
        relayed: Number(row.relayed),
        backlog: Number(backlog.backlog),
        owner: row.owner,
        ...(holder
          ? {
              oldestOpenTransaction: {
                pid: Number(holder.pid),
                xid: holder.xid,
                state: holder.state,
                ageMs: Number(holder.age_ms),
              },
            }
          : {}),
      };
    },
  };
}
