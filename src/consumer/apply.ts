import type { Envelope } from '../envelope/types.js';
import { TidemarkError, isTidemarkError } from '../errors.js';
import { contentDigest } from '../envelope/canonical.js';
import { parkHeldBehind } from './park-held.js';
import type { Sql } from '../store/db.js';
import { deadLetterStatements } from '../dlq/sql.js';
import { decide } from './apply-rules.js';
import { consumerStatements } from './sql.js';
import type { ApplyContext, EntityHandler } from './types.js';
import { stageOf } from '../ledger/sink.js';
import type { LedgerStage, StageRecord } from '../ledger/stages.js';

export interface ApplyRequest {
  readonly envelope: Envelope;
  /** Digest recorded in the inbox; for an operator-edited event, the digest of the original. */
  readonly digest: string;
  readonly attempt: number;
  /** Set when draining a dead-letter queue: the row being applied, resolved in the same transaction. */
  readonly deadLetterId?: number;
}

export type ApplyResult = (
  | {
      readonly kind: 'applied';
      readonly applied: readonly Envelope[];
      /** A held successor released by this apply that failed and now heads the key's dead letters. */
      readonly failedHeld?: { readonly envelope: Envelope; readonly reason: string };
    }
  | { readonly kind: 'duplicate' | 'held' }
  | { readonly kind: 'parked'; readonly behind: number }
) & {
  /** The maturity stages this apply reached, for the ledger sink in the same transaction. */
  readonly stages: readonly StageRecord[];
};

/** The lock key every apply of `consumer` shares and a rebuild's swap takes exclusively. */
export const consumerLockKey = (consumer: string): string => `tidemark.consumer:${consumer}`;

export interface ApplierSetup {
  /** Name under which inbox, applied versions and held events are kept. */
  readonly name: string;
  /** The consumer the handlers are told they work for. */
  readonly consumer: string;
  /** Quoted Tidemark schema. */
  readonly s: string;
  readonly handlers: Readonly<Record<string, EntityHandler<unknown>>>;
  readonly table: (name: string) => string;
  /** Shared lock key; a rebuild's swap takes it exclusively to pause the live applier. */
  readonly lockKey: string;
  /** The context name stages are recorded for. */
  readonly ledgerContext: string;
}

/** What a handler's rules made of the change: in effect now, or waiting in a stated way. */
export interface RuleOutcome {
  stage: LedgerStage;
  detail?: Readonly<Record<string, unknown>>;
}

/** An operator skipped or resolved the dead letter since the queue was read: their decision stands. */
function settledMeanwhile(deadLetterId: number): TidemarkError {
  return new TidemarkError(
    'TM_DLQ_STATE',
    `dead letter #${deadLetterId} was settled by an operator meanwhile`,
    {
      context: { deadLetterId },
    },
  );
}

/** An event id received before with other content: never applied, never silently skipped. */
export function inboxIdConflict(consumer: string, envelope: Envelope): TidemarkError {
  const { authority, id } = envelope;
  return new TidemarkError(
    'TM_INBOX_ID_CONFLICT',
    `event id ${id} from '${authority}' was already received with different content; ` +
      'the sender reused an id (or forged one): compare both versions before releasing it',
    { context: { consumer, authority, eventId: id } },
  );
}

/**
 * Runs the entity type's handler with the rule context (hold, defer, block, reject) and says
 * which stage the event reached. Recording the applied version is the caller's part: the
 * per-event path writes it at once, the batch path once per entity.
 */
export function createHandlerRunner(setup: ApplierSetup) {
  const { name, handlers, table } = setup;
  return async function runRules(tx: Sql, envelope: Envelope, attempt: number): Promise<RuleOutcome> {
    const handler = handlers[envelope.entitytype];
    if (!handler) {
      throw new TidemarkError(
        'TM_NO_HANDLER',
        `consumer '${name}' has no handler for entity type '${envelope.entitytype}'; ` +
          `add one under handlers.${envelope.entitytype} or stop routing this type to '${name}'`,
        { context: { consumer: name, entityType: envelope.entitytype } },
      );
    }
    const outcome: RuleOutcome = { stage: 'applied' };
    const wait = (stage: LedgerStage, detail: Readonly<Record<string, unknown>>) => {
      outcome.stage = stage;
      outcome.detail = detail;
    };
    const context: ApplyContext = {
      consumer: setup.consumer,
      attempt,
      table,
      hold: (state, detail) => wait('held', { ...detail, state }),
      defer: (until, detail) => wait('deferred', { ...detail, until: until.toISOString() }),
      block: (reason, detail) => wait('blocked', { ...detail, reason }),
      reject: (reason, detail) => wait('rejected', { ...detail, reason }),
    };
    await handler.apply(tx, envelope, context);
    return outcome;
  };
}

/**
 * The one local transaction per event: entity lock, inbox check, parking check, apply rule,
 * handler, applied version, and the release of held successors. Everything it records
 * commits or rolls back with the handler's own writes.
 */
export function createApplier(setup: ApplierSetup) {
  const { name, s, lockKey } = setup;
  const sql = consumerStatements(s);
  const dlq = deadLetterStatements(s);

  const runRules = createHandlerRunner(setup);
  async function runHandler(tx: Sql, envelope: Envelope, attempt: number): Promise<RuleOutcome> {
    const outcome = await runRules(tx, envelope, attempt);
    await tx.query(sql.setApplied, [name, envelope.entitytype, envelope.entityid, envelope.entityversion]);
    return outcome;
  }

  const delivered = (envelope: Envelope): StageRecord => stageOf(envelope, setup.ledgerContext, 'delivered');
  const reached = (envelope: Envelope, outcome: RuleOutcome): StageRecord =>
    stageOf(envelope, setup.ledgerContext, outcome.stage, outcome.detail);

  return async function applyInTransaction(tx: Sql, request: ApplyRequest): Promise<ApplyResult> {
    const { envelope, digest, attempt } = request;
    const { authority, id, entitytype: type, entityid: entityId, entityversion: version } = envelope;
    if (request.deadLetterId !== undefined) {
      const claimed = await tx.query(dlq.claim, [request.deadLetterId]);
      if (claimed.rows.length === 0) throw settledMeanwhile(request.deadLetterId);
    }
    await tx.query(sql.lockEntity, [JSON.stringify([name, type, entityId]), lockKey]);
    const found = (
      await tx.query<{ digest: string | null; version: number | null; blocked_by: number | null }>(
        sql.lookup,
        [name, authority, id, type, entityId, envelope.partitionkey, request.deadLetterId ?? null],
      )
    ).rows[0];
    const settle = async (): Promise<void> => {
      if (request.deadLetterId === undefined) return;
      const resolved = await tx.query(dlq.resolve, [request.deadLetterId]);
      if (resolved.rowCount === 0) throw settledMeanwhile(request.deadLetterId);
    };
    if (found?.digest) {
      if (found.digest !== digest) {
        throw inboxIdConflict(name, envelope);
      }
      await settle();
      return { kind: 'duplicate', stages: [] };
    }
    if (found?.blocked_by != null) {
      const behind = Number(found.blocked_by);
      await tx.query(dlq.park, [
        name,
        authority,
        id,
        type,
        entityId,
        version,
        envelope.partitionkey,
        JSON.stringify(envelope),
        digest,
        `waiting behind dead letter #${behind} of the same key`,
      ]);
      return { kind: 'parked', behind, stages: [delivered(envelope)] };
    }
    const stored = Number(found?.version ?? 0);
    const decision = decide(envelope.eventkind, version, stored);
    const outcome = decision === 'apply' ? 'applied' : decision === 'gap' ? 'held' : 'duplicate';
    await tx.query(sql.inboxInsert, [name, authority, id, type, entityId, version, digest, outcome]);
    await settle();
    if (decision === 'gap') {
      await tx.query(sql.hold, [name, type, entityId, version, JSON.stringify(envelope)]);
      return { kind: 'held', stages: [delivered(envelope)] };
    }
    if (decision === 'duplicate') return { kind: 'duplicate', stages: [] };
    const stages: StageRecord[] = [
      delivered(envelope),
      reached(envelope, await runHandler(tx, envelope, attempt)),
    ];
    const applied: Envelope[] = [envelope];
    let failedHeld: { envelope: Envelope; reason: string } | undefined;
    let current = version;
    if (envelope.eventkind === 'domain') {
      for (;;) {
        const next = await tx.query<{ envelope: Envelope }>(sql.takeHeld, [
          name,
          type,
          entityId,
          current + 1,
        ]);
        const held = next.rows[0]?.envelope;
        if (!held) break;
        // A held event that fails must not take the event that closed its gap down with it:
        // its own effects roll back to the savepoint, and it heads the key's dead-letter queue.
        await tx.query('SAVEPOINT tidemark_release_held');
        try {
          stages.push(reached(held, await runHandler(tx, held, attempt)));
          await tx.query('RELEASE SAVEPOINT tidemark_release_held');
        } catch (error) {
          await tx.query('ROLLBACK TO SAVEPOINT tidemark_release_held');
          // Its inbox entry said "held"; a retry must apply it, not take it for a duplicate.
          await tx.query(sql.forgetHeld, [name, held.authority, held.id]);
          const reason = `${error instanceof Error ? error.message : String(error)} (failed when released after its gap closed)`;
          const head = await tx.query<{ id: number }>(dlq.fail, [
            name,
            held.authority,
            held.id,
            held.entitytype,
            held.entityid,
            held.entityversion,
            held.partitionkey,
            JSON.stringify(held),
            contentDigest(held),
            isTidemarkError(error) ? error.code : 'TM_HANDLER_FAILED',
            reason,
            error instanceof Error ? (error.stack ?? null) : null,
            1,
          ]);
          await parkHeldBehind(tx, s, name, { type, id: entityId }, Number(head.rows[0]!.id));
          failedHeld = { envelope: held, reason };
          break;
        }
        applied.push(held);
        current = held.entityversion;
      }
    } else {
      await tx.query(sql.dropSuperseded, [name, type, entityId, current]);
    }
    return { kind: 'applied', applied, stages, ...(failedHeld ? { failedHeld } : {}) };
  };
}
