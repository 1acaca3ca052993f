import pg from 'pg';
import { TidemarkError } from '../errors.js';
import type { Db } from '../store/db.js';
import { quoteIdentifier } from '../store/identifier.js';
import {
  deleteCaptureState,
  loadCheckpoint,
  loadSnapshotProgress,
  type SnapshotProgress,
} from './checkpoint.js';
import { dropSlotAndPublication, slotLagBytes, slotState } from './source.js';

export interface CaptureAdminOptions {
  readonly name: string;
  readonly db: Db;
  readonly schema?: string;
  readonly source: { readonly connectionString: string };
  readonly slot?: string;
  readonly publication?: string;
}

export interface CaptureReport {
  readonly name: string;
  readonly slot: string;
  readonly slotState: 'missing' | 'lost' | 'ok';
  readonly checkpointLsn: string | undefined;
  /** WAL bytes the slot retains on the source (`tidemark_cdc_lag_bytes`). */
  readonly lagBytes: number | undefined;
  readonly snapshot: readonly SnapshotProgress[];
}

async function withSource<T>(connectionString: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString, application_name: 'tidemark-cdc-admin' });
  try {
    await client.connect();
  } catch (cause) {
    throw new TidemarkError(
      'TM_SERVICE_UNREACHABLE',
      `cannot connect to the CDC source: ${(cause as Error).message}; check --source`,
      { cause },
    );
  }
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** A capture's state without running it: checkpoint, slot health and lag, snapshot progress. */
export async function inspectCapture(options: CaptureAdminOptions): Promise<CaptureReport> {
  const s = quoteIdentifier(options.schema ?? 'tidemark', 'schema name');
  const slot = options.slot ?? `tidemark_${quoteIdentifier(options.name, 'capture name').slice(1, -1)}`;
  const stored = await loadCheckpoint(options.db, s, options.name);
  return withSource(options.source.connectionString, async (client) => ({
    name: options.name,
    slot,
    slotState: await slotState(client, slot),
    checkpointLsn: stored?.lsn,
    lagBytes: await slotLagBytes(client, slot),
    snapshot: await loadSnapshotProgress(options.db, s, options.name),
  }));
}

/**
 * Dangerous: drops the capture's slot and publication and forgets its checkpoint and snapshot
 * progress; the next start re-seeds from a new snapshot. Stop the capture first.
 */
export async function resetCapture(options: CaptureAdminOptions): Promise<void> {
  const s = quoteIdentifier(options.schema ?? 'tidemark', 'schema name');
  const name = quoteIdentifier(options.name, 'capture name').slice(1, -1);
  await withSource(options.source.connectionString, (client) =>
    dropSlotAndPublication(
      client,
      options.slot ?? `tidemark_${name}`,
      options.publication ?? `tidemark_${name}`,
    ),
  );
  await options.db.transaction((tx) => deleteCaptureState(tx, s, options.name));
}
