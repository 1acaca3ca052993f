import type { Backbone } from '../backbone/backbone.js';
import { contentDigest } from '../envelope/canonical.js';
import type { Envelope } from '../envelope/types.js';
import { parseEnvelope } from '../envelope/validate.js';
import { TidemarkError, isTidemarkError } from '../errors.js';
import type { Db, Sql } from '../store/db.js';
import { consumerLockKey, createApplier } from './apply.js';
import type { ProjectionTables } from './projection.js';
import { consumerStatements } from './sql.js';
import type { EntityHandler, RebuildResult } from './types.js';

export interface RebuildSetup {
  readonly db: Db;
  /** Quoted Tidemark schema of the consumer. */
  readonly s: string;
  readonly name: string;
  readonly backbone: Backbone;
  readonly handlers: Readonly<Record<string, EntityHandler<unknown>>>;
  readonly projection: ProjectionTables | undefined;
  readonly onProgress?: (progress: { done: number; total: number }) => void;
}

/**
 * Rebuilds a consumer's projection from history:
 * 1. empty shadow copies of the projection tables (same columns, indexes, constraints);
 * 2. the whole history applied to them under a separate bookkeeping name, while the live
 *    tables keep serving and the live consumer keeps applying;
 * 3. one transaction that pauses the live consumer (its shared lock), applies what arrived
 *    meanwhile, swaps the tables by renaming and moves the shadow bookkeeping over.
 * Operator decisions stand: events skipped from the dead-letter queue stay skipped, edited
 * ones are applied as edited.
 */
export async function rebuildProjection(setup: RebuildSetup): Promise<RebuildResult> {
  const { db, s, name, backbone, projection } = setup;
  if (!projection || projection.tables.length === 0) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `consumer '${name}' declares no projection.tables, so there is nothing Tidemark can rebuild; declare the ` +
        'tables its handlers write and write them through context.table(name)',
    );
  }
  if (!backbone.history) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `the ${backbone.name} backbone keeps no history, so consumer '${name}' cannot be rebuilt from it`,
    );
  }
  const history = backbone.history.bind(backbone);
  const shadowName = `${name}#rebuild`;
  const bookkeeping = ['inbox', 'consumer_entities', 'consumer_pending'];
  const sql = consumerStatements(s);

  const overrides = new Map<string, Envelope | 'skip'>();
  const decided = await db.query<{ event_id: string; status: string; envelope: Envelope }>(
    `SELECT event_id, status, envelope FROM ${s}.dead_letters
     WHERE consumer = $1 AND (status = 'skipped' OR (status = 'resolved' AND original_envelope IS NOT NULL))`,
    [name],
  );
  for (const row of decided.rows)
    overrides.set(row.event_id, row.status === 'skipped' ? 'skip' : row.envelope);

  await db.transaction(async (tx) => {
    for (const table of projection.tables) {
      await tx.query(`DROP TABLE IF EXISTS ${projection.shadow(table)}`);
      await tx.query(
        `CREATE TABLE ${projection.shadow(table)} (LIKE ${projection.live(table)} INCLUDING ALL)`,
      );
    }
    for (const table of bookkeeping)
      await tx.query(`DELETE FROM ${s}.${table} WHERE consumer = $1`, [shadowName]);
  });

  const apply = createApplier({
    name: shadowName,
    consumer: name,
    s,
    handlers: setup.handlers,
    table: projection.shadow,
    lockKey: consumerLockKey(shadowName),
    // A rebuild replays what the live projection already recorded; its stages are not written.
    ledgerContext: name,
  });
  let position = 0;
  let replayed = 0;
  let applied = 0;
  let total = 0;

  async function applyOne(sqlOrDb: Sql | undefined, raw: unknown): Promise<void> {
    let envelope: Envelope;
    try {
      envelope = parseEnvelope(raw);
    } catch {
      return; // malformed events never took effect live either (they were dead-lettered)
    }
    const override = overrides.get(envelope.id);
    if (override === 'skip') return;
    const kinds = setup.handlers[envelope.entitytype]?.kinds;
    if (kinds && !kinds.includes(envelope.eventkind)) return;
    const effective = override ?? envelope;
    const request = { envelope: effective, digest: contentDigest(envelope), attempt: 1 };
    try {
      const result = sqlOrDb
        ? await apply(sqlOrDb, request)
        : await db.transaction((tx) => apply(tx, request));
      if (result.kind === 'applied') applied += result.applied.length;
    } catch (error) {
      throw new TidemarkError(
        'TM_HANDLER_FAILED',
        `rebuild of '${name}' stopped at event ${envelope.id} (${envelope.entitytype}/${envelope.entityid} ` +
          `version ${envelope.entityversion}): ${error instanceof Error ? error.message : String(error)}; ` +
          'fix the handler (or skip the event in the dead-letter queue) and rebuild again',
        { cause: error, retryable: isTidemarkError(error) ? error.retryable : true },
      );
    }
  }

  async function catchUp(tx?: Sql): Promise<void> {
    // A start beyond the end of the log means there is nothing new to catch up on.
    const through = tx && backbone.database === db ? { tx } : {};
    const next = await history({ fromPosition: position + 1, batchSize: 1_000, ...through }).catch(
      (error: unknown) => {
        if (isTidemarkError(error, 'TM_INVALID_ARGUMENT')) return undefined;
        throw error;
      },
    );
    if (!next) return;
    total += next.total;
    for await (const batch of next.batches()) {
      for (const message of batch) {
        await applyOne(tx, message.envelope);
        position = message.offset;
        replayed++;
      }
      setup.onProgress?.({ done: replayed, total });
    }
  }

  await catchUp();
  await catchUp(); // a second pass shortens the one inside the swap
  await db.transaction(async (tx) => {
    await tx.query(sql.lockConsumer, [consumerLockKey(name)]);
    await catchUp(tx);
    for (const table of projection.tables) {
      await tx.query(`ALTER TABLE ${projection.live(table)} RENAME TO ${projection.bare(table, 'old')}`);
      await tx.query(`ALTER TABLE ${projection.shadow(table)} RENAME TO ${projection.bare(table, 'live')}`);
      await tx.query(`DROP TABLE ${projection.old(table)}`);
    }
    for (const table of bookkeeping) {
      await tx.query(`DELETE FROM ${s}.${table} WHERE consumer = $1`, [name]);
      await tx.query(`UPDATE ${s}.${table} SET consumer = $1 WHERE consumer = $2`, [name, shadowName]);
    }
  });
  return { replayed, applied, position, tables: projection.tables };
}
