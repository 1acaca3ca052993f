import type { PartitionLag } from '../backbone/postgres-log/index.js';
import { logStatements } from '../backbone/postgres-log/sql.js';
import type { RelayStatus } from '../relay/relay.js';
import type { Db } from '../store/db.js';
import { quoteIdentifier } from '../store/identifier.js';

/** What the control plane needs of a relay; a `Relay` has it. */
export interface RelayView {
  readonly name: string;
  status(): Promise<Pick<RelayStatus, 'name' | 'backlog' | 'relayed' | 'owner'> & Partial<RelayStatus>>;
}

export type GroupLagReader = (group: string) => Promise<readonly PartitionLag[]>;

interface CheckpointRow {
  relay: string;
  relayed: string | number;
  owner: string | null;
  backlog: string | number;
}

/**
 * Relay status read from the checkpoints table, for a server that runs no relay itself. The
 * backlog counts rows after the cursor, as `relay.status()` does.
 */
export function checkpointRelays(db: Db, schema: string) {
  const s = quoteIdentifier(schema, 'schema name');
  const read = async (name: string | null) =>
    (
      await db.query<CheckpointRow>(
        `SELECT c.relay, c.relayed, c.owner,
           (SELECT count(*) FROM ${s}.outbox o WHERE (o.txid, o.position) > (c.txid, c.position)) AS backlog
         FROM ${s}.relay_checkpoints c WHERE $1::text IS NULL OR c.relay = $1 ORDER BY c.relay`,
        [name],
      )
    ).rows.map((r) => ({
      name: r.relay,
      relayed: Number(r.relayed),
      backlog: Number(r.backlog),
      owner: r.owner,
    }));
  // Each view reads its checkpoint afresh: collectors keep a view for the server's lifetime.
  const view = (name: string): RelayView => ({
    name,
    status: async () => (await read(name))[0] ?? { name, relayed: 0, backlog: 0, owner: null },
  });
  return async (): Promise<RelayView[]> => (await read(null)).map((r) => view(r.name));
}

/** Consumer-group lag from the embedded postgres-log backbone kept in `schema`. */
export function postgresLogLag(db: Db, schema: string): GroupLagReader {
  const sql = logStatements(quoteIdentifier(schema, 'schema name'), schema).groupLag;
  return async (group) =>
    (await db.query<PartitionLag>(sql, [group])).rows.map((r) => ({
      partition: Number(r.partition),
      committed: Number(r.committed),
      head: Number(r.head),
      pending: Number(r.pending),
      owner: r.owner,
    }));
}

export interface LagSample {
  readonly at: string;
  /** Outbox rows not yet relayed, summed over relays. */
  readonly backlog: number;
  /** Events on the backbone after each consumer group's committed offset. */
  readonly consumers: Readonly<Record<string, number>>;
}

/**
 * Samples lag at an interval into a ring buffer, so the dashboard can chart the recent past
 * without a time-series database. Losing it on restart is fine: Prometheus keeps the history.
 */
export function lagHistory(sample: () => Promise<LagSample>, intervalMs: number, capacity: number) {
  const samples: LagSample[] = [];
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const take = async () => {
    try {
      samples.push(await sample());
      if (samples.length > capacity) samples.splice(0, samples.length - capacity);
    } catch {
      // A failed sample leaves a gap in the chart; /readyz reports the database itself.
    }
  };
  return {
    start() {
      if (timer || intervalMs <= 0) return;
      running = take();
      timer = setInterval(() => {
        running = take();
      }, intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
    },
    samples: (): readonly LagSample[] => [...samples],
    take,
  };
}
