import { createHash } from 'node:crypto';
import type { Backbone } from '../backbone/backbone.js';
import { createEnvelope } from '../envelope/create.js';
import { TidemarkError } from '../errors.js';
import type { Db, Sql } from '../store/db.js';
import type { Consumer, EntityHandler, OutcomeKind } from './types.js';

export interface SnapshotRow {
  readonly id: string;
  /** The authority's version of the entity in the snapshot. */
  readonly version: number;
  readonly state: unknown;
}

export interface BootstrapOptions {
  /** The new consumer, not started yet; its handler for `entityType` must take `state` events. */
  readonly consumer: Consumer;
  readonly handlers: Readonly<Record<string, EntityHandler<unknown>>>;
  readonly backbone: Backbone;
  readonly entityType: string;
  /** The authority context, recorded as the source of the snapshot events. */
  readonly authority: string;
  /** The authority's database; the snapshot is read in one REPEATABLE READ transaction there. */
  readonly authorityDb: Db;
  /** Reads the authority's current state of every entity of the type. */
  readonly snapshot: (tx: Sql) => Promise<readonly SnapshotRow[]>;
  readonly onProgress?: (progress: { done: number; total: number }) => void;
}

export interface BootstrapResult {
  readonly entities: number;
  /** The consumer continues after this backbone position. */
  readonly position: number;
  readonly outcomes: Readonly<Partial<Record<OutcomeKind, number>>>;
}

/** A stable UUID per (authority, type, id, version), so a repeated bootstrap deduplicates. */
function snapshotEventId(...parts: string[]): string {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Starts a new consumer from the authority's current state instead of the whole history:
 * 1. note the backbone's newest position P;
 * 2. read a consistent snapshot of the authority and apply each entity as a state event at
 *    its version, through the consumer's normal path;
 * 3. make the consumer's group start after P.
 * No gap: whatever reached the backbone after P is delivered, and anything committed before
 * the snapshot is in it. No double application: events the snapshot already covers carry a
 * version the consumer has, so its apply rules skip them.
 */
export async function bootstrapConsumer(options: BootstrapOptions): Promise<BootstrapResult> {
  const { consumer, backbone, entityType } = options;
  const handler = options.handlers[entityType];
  if (!handler) {
    throw new TidemarkError(
      'TM_NO_HANDLER',
      `consumer '${consumer.name}' has no handler for '${entityType}' to bootstrap`,
    );
  }
  if (handler.kinds && !handler.kinds.includes('state')) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `consumer '${consumer.name}' takes only ${handler.kinds.join(', ')} events for '${entityType}'; a bootstrap ` +
        "hands it each entity's current state, so add 'state' to the handler's kinds and handle it",
    );
  }
  if (!backbone.position || !backbone.seek) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `the ${backbone.name} backbone cannot report or seek positions, so it cannot bootstrap a consumer; ` +
        'let the consumer read the whole history instead',
    );
  }
  if (consumer.subscription) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `consumer '${consumer.name}' is running; bootstrap it before start()`,
    );
  }
  const position = await backbone.position();
  const rows = await options.authorityDb.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
    return options.snapshot(tx);
  });
  const outcomes: Partial<Record<OutcomeKind, number>> = {};
  let done = 0;
  for (const row of rows) {
    const envelope = createEnvelope({
      kind: 'state',
      type: `${entityType}.snapshot`,
      authority: options.authority,
      entityType,
      entityId: row.id,
      entityVersion: row.version,
      data: row.state,
      id: snapshotEventId(options.authority, entityType, row.id, String(row.version)),
    });
    for (const outcome of await consumer.handle(envelope))
      outcomes[outcome.kind] = (outcomes[outcome.kind] ?? 0) + 1;
    options.onProgress?.({ done: ++done, total: rows.length });
  }
  await backbone.seek(consumer.name, position);
  return { entities: rows.length, position, outcomes };
}
