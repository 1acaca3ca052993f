/**
 * Gap healing by pull: a domain event held for a predecessor that never comes would block its
 * entity for good. After `afterMs` the consumer asks the authority for the entity's current
 * state, applies it as state (the missing steps are in it), drops the held events it covers
 * and applies the later ones in order — all in one local transaction, so it happens once.
 */
import { contentDigest } from '../envelope/canonical.js';
import type { Envelope } from '../envelope/types.js';
import { TidemarkError, isTidemarkError } from '../errors.js';
import { deadLetterStatements } from '../dlq/sql.js';
import { stageOf } from '../ledger/sink.js';
import type { LedgerStage, StageRecord } from '../ledger/stages.js';
import type { Db, Sql } from '../store/db.js';
import type { ApplyRequest, ApplyResult } from './apply.js';
import { parkHeldBehind } from './park-held.js';
import { consumerStatements } from './sql.js';
import type { ApplyContext, Logger } from './types.js';

/**
 * Where healing reads an entity's current state: the authority's read API. A `PullClient`
 * (`createPullClient`) is one; the consumer depends only on this shape.
 */
export interface GapHealingSource {
  get(
    type: string,
    id: string,
    options: { readonly tier: 'strong'; readonly minVersion: number },
  ): Promise<{ readonly version: number; readonly state: unknown; readonly updatedAt?: string | undefined }>;
}

/** The state healing hands to `applyState`. */
export interface HealedEntity {
  readonly type: string;
  readonly id: string;
  /** The authority's version of the state: every step up to it is in `state`. */
  readonly version: number;
  /** The version this consumer had applied before (0 if none). */
  readonly fromVersion: number;
  readonly updatedAt: string | undefined;
}

/**
 * - `healed`: the state was applied; covered held events dropped, later ones applied.
 * - `not-found`: the authority no longer has the entity (its tombstone should follow).
 * - `failed`: the read failed (authority unavailable, open breaker, invalid answer); tried again next pass.
 * - `overtaken`: the gap closed by itself while the state was being read; nothing written.
 */
export type GapHealResult = 'healed' | 'not-found' | 'failed' | 'overtaken';

export interface GapHeal {
  readonly consumer: string;
  readonly entityType: string;
  readonly entityId: string;
  readonly result: GapHealResult;
  /** Version applied before the heal. */
  readonly fromVersion: number;
  /** Version of the state applied (healed only). */
  readonly toVersion?: number;
  /** Held events whose effect the state already contained, dropped (healed only). */
  readonly covered?: number;
  /** Held events applied after the state, in order (healed only). */
  readonly released?: number;
  /** How long the oldest held event had waited. */
  readonly waitedMs: number;
  /** The read's error code (failed only). */
  readonly code?: string;
}

export interface GapHealingOptions<TState = unknown> {
  /** The authority's read API (a `PullClient` of the authority of the entity types this consumer follows). */
  readonly client: GapHealingSource;
  /** How long a held event waits for its predecessor before the entity is healed by pull (default 5,000 ms). */
  readonly afterMs?: number;
  /** Most entities healed in one maintenance pass (default 100). */
  readonly maxPerPass?: number;
  /**
   * Replaces the consumer's copy of the entity with `state`, with `tx` (the consumer's open
   * transaction): the same effect as applying every step up to `entity.version`. The rules of
   * `context` (hold, defer, block, reject) work as in a handler.
   */
  applyState(tx: Sql, state: TState, entity: HealedEntity, context: ApplyContext): Promise<void>;
  /** Told about every heal attempt, after its transaction (e.g. `observeGapHeals(metrics, name)`). */
  readonly onHeal?: (heal: GapHeal) => void;
}

export interface GapHealerSetup {
  readonly db: Db;
  /** Quoted Tidemark schema. */
  readonly s: string;
  readonly name: string;
  readonly lockKey: string;
  readonly ledgerContext: string;
  readonly table: (name: string) => string;
  readonly options: GapHealingOptions;
  /** The consumer's own apply (inbox, rules, handler, held release, ledger) in the caller's transaction. */
  readonly applyHeld: (tx: Sql, request: ApplyRequest) => Promise<ApplyResult>;
  readonly recordLedger: (tx: Sql, stages: readonly StageRecord[]) => Promise<void>;
  /** Told about held events applied after a heal, once committed. */
  readonly onApplied: (envelope: Envelope, result: ApplyResult) => void;
  readonly logger: Logger;
}

interface Candidate {
  entity_type: string;
  entity_id: string;
  lowest: number;
  waited_ms: number;
}

function checkedMs(value: unknown, option: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `createConsumer option gapHealing.${option}: expected an integer from ${min}, got ${JSON.stringify(value) ?? String(value)}`,
      { context: { option: `gapHealing.${option}` } },
    );
  }
  return value;
}

/** Checks the options once; returns a pass to run from the consumer's maintenance loop. */
export function createGapHealer(setup: GapHealerSetup): { pass(): Promise<GapHeal[]> } {
  const { db, s, name, options, logger } = setup;
  if (typeof options.client?.get !== 'function' || typeof options.applyState !== 'function') {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      'createConsumer option gapHealing needs client (a PullClient of the authority) and applyState(tx, state, entity, context)',
      { context: { option: 'gapHealing' } },
    );
  }
  const afterMs = checkedMs(options.afterMs, 'afterMs', 5_000, 0);
  const maxPerPass = checkedMs(options.maxPerPass, 'maxPerPass', 100, 1);
  const sql = consumerStatements(s);
  const dlq = deadLetterStatements(s);
  // Entities whose oldest held event waited long enough, unless their key waits behind a dead
  // letter: an operator decides that one, and its held events are parked behind it anyway.
  const candidates = `SELECT p.entity_type, p.entity_id, min(p.entity_version) AS lowest,
      floor(extract(epoch FROM now() - min(p.received_at)) * 1000)::bigint AS waited_ms
    FROM ${s}.consumer_pending p
    WHERE p.consumer = $1 AND NOT EXISTS (SELECT 1 FROM ${s}.dead_letters d
      WHERE d.consumer = $1 AND d.partition_key = p.envelope->>'partitionkey'
        AND d.status IN ('open', 'retry', 'parked'))
    GROUP BY p.entity_type, p.entity_id
    HAVING min(p.received_at) <= now() - make_interval(secs => $2::double precision / 1000)
    ORDER BY min(p.received_at) LIMIT $3`;
  const takeCovered = `DELETE FROM ${s}.consumer_pending
    WHERE consumer = $1 AND entity_type = $2 AND entity_id = $3 AND entity_version <= $4
    RETURNING envelope`;

  function contextFor(outcome: { stage: LedgerStage; detail?: Record<string, unknown> }): ApplyContext {
    const wait = (stage: LedgerStage, detail: Record<string, unknown>) => {
      outcome.stage = stage;
      outcome.detail = { ...outcome.detail, ...detail };
    };
    return {
      consumer: name,
      attempt: 1,
      table: setup.table,
      hold: (state, detail) => wait('held', { ...detail, state }),
      defer: (until, detail) => wait('deferred', { ...detail, until: until.toISOString() }),
      block: (reason, detail) => wait('blocked', { ...detail, reason }),
      reject: (reason, detail) => wait('rejected', { ...detail, reason }),
    };
  }

  /** The held event right after the state, applied by the consumer's own apply (which releases the rest). */
  async function releaseNext(
    tx: Sql,
    type: string,
    id: string,
    version: number,
  ): Promise<{ envelope: Envelope; result?: ApplyResult } | undefined> {
    await tx.query('SAVEPOINT tidemark_gap_heal_release');
    const next = (await tx.query<{ envelope: Envelope }>(sql.takeHeld, [name, type, id, version + 1])).rows[0]
      ?.envelope;
    if (!next) {
      await tx.query('RELEASE SAVEPOINT tidemark_gap_heal_release');
      return undefined;
    }
    try {
      // Its inbox entry said "held"; the apply below records it anew.
      await tx.query(sql.forgetHeld, [name, next.authority, next.id]);
      const result = await setup.applyHeld(tx, { envelope: next, digest: contentDigest(next), attempt: 1 });
      await tx.query('RELEASE SAVEPOINT tidemark_gap_heal_release');
      return { envelope: next, result };
    } catch (error) {
      // As when a gap closes by itself: the failing successor heads its key's dead letters and
      // the later held events park behind it; the healed state stays.
      await tx.query('ROLLBACK TO SAVEPOINT tidemark_gap_heal_release');
      await tx.query(sql.takeHeld, [name, type, id, version + 1]);
      await tx.query(sql.forgetHeld, [name, next.authority, next.id]);
      const head = await tx.query<{ id: number }>(dlq.fail, [
        name,
        next.authority,
        next.id,
        next.entitytype,
        next.entityid,
        next.entityversion,
        next.partitionkey,
        JSON.stringify(next),
        contentDigest(next),
        isTidemarkError(error) ? error.code : 'TM_HANDLER_FAILED',
        `${error instanceof Error ? error.message : String(error)} (failed when released after a gap heal)`,
        error instanceof Error ? (error.stack ?? null) : null,
        1,
      ]);
      await parkHeldBehind(tx, s, name, { type, id }, Number(head.rows[0]!.id));
      return { envelope: next };
    }
  }

  async function heal(candidate: Candidate): Promise<GapHeal> {
    const type = candidate.entity_type;
    const id = candidate.entity_id;
    const lowest = Number(candidate.lowest);
    const base = { consumer: name, entityType: type, entityId: id, waitedMs: Number(candidate.waited_ms) };
    const before = Number(
      (await db.query<{ version: number }>(sql.projectionVersion, [name, type, id])).rows[0]?.version ?? 0,
    );
    let fetched: Awaited<ReturnType<GapHealingSource['get']>>;
    try {
      // The predecessor of the lowest held event is the least the state must contain.
      fetched = await options.client.get(type, id, { tier: 'strong', minVersion: lowest - 1 });
    } catch (error) {
      const notFound = isTidemarkError(error, 'TM_ENTITY_NOT_FOUND');
      const code = isTidemarkError(error) ? error.code : 'TM_UNEXPECTED';
      logger.warn(
        { consumer: name, entity: `${type}/${id}`, heldFrom: lowest, code, err: error },
        notFound
          ? 'gap heal: the authority no longer has the entity; its held events wait for its tombstone'
          : 'gap heal: reading the state from the authority failed; trying again next pass',
      );
      return { ...base, result: notFound ? 'not-found' : 'failed', fromVersion: before, code };
    }
    const released: { envelope: Envelope; result?: ApplyResult }[] = [];
    const written = await db.transaction(async (tx) => {
      released.length = 0;
      await tx.query(sql.lockEntity, [JSON.stringify([name, type, id]), setup.lockKey]);
      const stored = Number(
        (await tx.query<{ version: number }>(sql.projectionVersion, [name, type, id])).rows[0]?.version ?? 0,
      );
      if (stored >= fetched.version) return undefined;
      const covered = (
        await tx.query<{ envelope: Envelope }>(takeCovered, [name, type, id, fetched.version])
      ).rows.map((r) => r.envelope);
      const outcome: { stage: LedgerStage; detail?: Record<string, unknown> } = {
        stage: 'applied',
        detail: { healedBy: 'pull', fromVersion: stored },
      };
      const entity: HealedEntity = {
        type,
        id,
        version: fetched.version,
        fromVersion: stored,
        updatedAt: fetched.updatedAt,
      };
      await options.applyState(tx, fetched.state, entity, contextFor(outcome));
      await tx.query(sql.setApplied, [name, type, id, fetched.version]);
      const authority = covered[0]?.authority ?? (await authorityOf(tx, type, id));
      const healedStage = (stage: LedgerStage, detail?: Record<string, unknown>): StageRecord => ({
        entityType: type,
        entityId: id,
        version: fetched.version,
        context: setup.ledgerContext,
        stage,
        authority,
        ...(detail ? { detail } : {}),
      });
      const stages: StageRecord[] = [
        healedStage('delivered', { via: 'pull' }),
        healedStage(outcome.stage, outcome.detail),
        ...covered
          .filter((e) => e.entityversion !== fetched.version)
          .map((e) =>
            stageOf(e, setup.ledgerContext, 'applied', { healedBy: 'pull', coveredBy: fetched.version }),
          ),
      ];
      await setup.recordLedger(tx, stages);
      const next = await releaseNext(tx, type, id, fetched.version);
      if (next) released.push(next);
      return { stored, covered: covered.length };
    });
    if (!written) {
      return { ...base, result: 'overtaken', fromVersion: before };
    }
    for (const { envelope, result } of released) if (result) setup.onApplied(envelope, result);
    const applied = released.reduce(
      (n, r) => n + (r.result?.kind === 'applied' ? r.result.applied.length : 0),
      0,
    );
    const heal: GapHeal = {
      ...base,
      result: 'healed',
      fromVersion: written.stored,
      toVersion: fetched.version,
      covered: written.covered,
      released: applied,
    };
    logger.warn(
      {
        consumer: name,
        entity: `${type}/${id}`,
        fromVersion: heal.fromVersion,
        toVersion: heal.toVersion,
        covered: heal.covered,
        released: heal.released,
        waitedMs: heal.waitedMs,
      },
      'gap healed by pull: a domain event never arrived, the state from the authority replaced the missing steps',
    );
    return heal;
  }

  /** The authority of an entity none of whose held events was covered (they are all newer). */
  async function authorityOf(tx: Sql, type: string, id: string): Promise<string> {
    const row = await tx.query<{ authority: string }>(
      `SELECT envelope->>'authority' AS authority FROM ${s}.consumer_pending
       WHERE consumer = $1 AND entity_type = $2 AND entity_id = $3 LIMIT 1`,
      [name, type, id],
    );
    return row.rows[0]?.authority ?? '(unknown)';
  }

  return {
    async pass() {
      const due = await db.query<Candidate>(candidates, [name, afterMs, maxPerPass]);
      const heals: GapHeal[] = [];
      for (const candidate of due.rows) {
        const result = await heal(candidate);
        heals.push(result);
        options.onHeal?.(result);
      }
      return heals;
    },
  };
}
