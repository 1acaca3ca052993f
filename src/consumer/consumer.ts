import pLimit from 'p-limit';
import type { BackboneMessage, Subscription } from '../backbone/backbone.js';
import { contentDigest } from '../envelope/canonical.js';
import { replaceUnstorable, storableJson } from '../envelope/storable.js';
import type { Envelope } from '../envelope/types.js';
import { parseEnvelope } from '../envelope/validate.js';
import { TidemarkError, isTidemarkError } from '../errors.js';
import type { Sql, Unlisten } from '../store/db.js';
import { quoteIdentifier } from '../store/identifier.js';
import { deadLetterStatements, dlqChannel } from '../dlq/sql.js';
import { backoffDelay } from '../util/backoff.js';
import { Wakeup, sleep } from '../util/wakeup.js';
import { consumerLockKey, createApplier, type ApplyRequest, type ApplyResult } from './apply.js';
import { createBatchApplier } from './batch-apply.js';
import { localLedgerSink } from '../ledger/sink.js';
import type { StageRecord } from '../ledger/stages.js';
import { projectionTables } from './projection.js';
import { parkHeldBehind } from './park-held.js';
import { rebuildProjection } from './rebuild.js';
import { consumerStatements } from './sql.js';
import { operationRunner } from './operations.js';
import { operationsChannel } from '../operations/requests.js';
import type { Consumer, ConsumerOptions, ConsumerProgress, Logger, Outcome, RepairResult } from './types.js';
import { receivingHandlers } from './validate-on-receipt.js';
import { traceDelivery } from '../obs/tracing.js';
import { createGapHealer } from './gap-healing.js';

const silent: Logger = { info() {}, warn() {}, error() {} };

const defaultIsRetryable = (error: unknown): boolean => !isTidemarkError(error) || error.retryable;

export function createConsumer(options: ConsumerOptions): Consumer {
  const schema = options.schema ?? 'tidemark';
  const s = quoteIdentifier(schema, 'schema name');
  const sql = consumerStatements(s);
  const dlq = deadLetterStatements(s);
  const { db, name } = options;
  const logger = options.logger ?? silent;
  const maxAttempts = options.retry?.attempts ?? 5;
  const isRetryable = options.retry?.isRetryable ?? defaultIsRetryable;
  const keyLimit = pLimit(options.keyConcurrency ?? 8);
  const batchApply = options.batchApply ?? true;
  const projection = options.projection
    ? projectionTables(name, options.projection.tables, options.projection.schema ?? schema)
    : undefined;
  const sink =
    options.ledger === false ? undefined : (options.ledger ?? localLedgerSink({ context: name, schema }));
  const handlers = receivingHandlers(options.handlers, options.receive);
  const applierSetup = {
    name,
    consumer: name,
    s,
    handlers,
    table: projection?.live ?? projectionTables(name, [], schema).live,
    lockKey: consumerLockKey(name),
    ledgerContext: sink?.context ?? name,
  };
  const applyOne = createApplier(applierSetup);
  const applyBatch = createBatchApplier(applierSetup, applyOne);
  const recordLedger = async (tx: Sql, stages: readonly StageRecord[]): Promise<void> => {
    if (sink && stages.length > 0) await sink.write(tx, stages);
  };
  /** One event's apply and the stages it reached, in the caller's transaction. */
  const applyInTransaction = async (tx: Sql, request: ApplyRequest): Promise<ApplyResult> => {
    const result = await applyOne(tx, request);
    await recordLedger(tx, result.stages);
    return result;
  };
  const gapHealer = options.gapHealing
    ? createGapHealer({
        db,
        s,
        name,
        lockKey: consumerLockKey(name),
        ledgerContext: sink?.context ?? name,
        table: projection?.live ?? projectionTables(name, [], schema).live,
        options: options.gapHealing,
        applyHeld: applyInTransaction,
        recordLedger,
        onApplied: (envelope, result) => emit(toOutcomes(envelope, result)),
        logger,
      })
    : undefined;
  let subscription: Subscription | undefined;
  let repairLoop: Promise<void> | undefined;
  let running = false;
  const repairWakeup = new Wakeup();
  let unlisten: Unlisten[] = [];

  // Stall detection (progress()): batches in hand, since when, and when an event last finished.
  let batchesInHand = 0;
  let inHandSince: number | undefined;
  let lastProgressAt: number | undefined;
  let failing: ConsumerProgress['failing'];
  const tracked = async (messages: readonly BackboneMessage[]): Promise<void> => {
    if (batchesInHand++ === 0) inHandSince = Date.now();
    try {
      await handleBatch(messages);
    } finally {
      if (--batchesInHand === 0) inHandSince = undefined;
    }
  };

  const emit = (outcomes: Outcome[]): Outcome[] => {
    if (outcomes.length > 0) {
      lastProgressAt = Date.now();
      failing = undefined;
    }
    for (const outcome of outcomes) options.onOutcome?.(outcome);
    return outcomes;
  };

  function toOutcomes(envelope: Envelope, result: ApplyResult): Outcome[] {
    if (result.kind === 'applied') {
      const now = Date.now();
      const outcomes: Outcome[] = result.applied.map((e) => ({
        kind: 'applied',
        envelope: e,
        lagMs: Math.max(0, now - Date.parse(e.time)),
      }));
      if (result.failedHeld) {
        outcomes.push({ kind: 'dead-lettered', ...result.failedHeld, attempts: 1 });
      }
      return outcomes;
    }
    if (result.kind === 'parked') {
      return [
        { kind: 'parked', envelope, reason: `waiting behind dead letter #${result.behind} of the same key` },
      ];
    }
    return [{ kind: result.kind, envelope }];
  }

  /** Stores the event as the head of its key's dead-letter queue; later events of the key park behind it. */
  async function deadLetter(raw: unknown, error: unknown, attempts: number): Promise<Outcome> {
    const record = (raw !== null && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
    // Whatever arrived must be storable, or the dead letter itself would fail and the batch loop.
    const text = (v: unknown) => (typeof v === 'string' ? replaceUnstorable(v) : null);
    const code = isTidemarkError(error) ? error.code : 'TM_HANDLER_FAILED';
    const reason = error instanceof Error ? error.message : String(error);
    const stack = error instanceof Error ? (error.stack ?? null) : null;
    const entityType = text(record.entitytype);
    const entityId = text(record.entityid);
    await db.transaction(async (tx) => {
      const failed = await tx.query<{ id: number }>(dlq.fail, [
        name,
        text(record.authority) ?? '(unknown)',
        text(record.id) ?? '(none)',
        entityType,
        entityId,
        typeof record.entityversion === 'number' && Number.isSafeInteger(record.entityversion)
          ? record.entityversion
          : null,
        text(record.partitionkey),
        storableJson(raw ?? null),
        contentDigest(raw ?? null),
        code,
        reason,
        stack,
        attempts,
      ]);
      // Later versions already waiting for this one would otherwise wait for good.
      const head = failed.rows[0]?.id;
      if (entityType && entityId && head !== undefined) {
        await parkHeldBehind(tx, s, name, { type: entityType, id: entityId }, Number(head));
      }
    });
    logger.error(
      { consumer: name, code, eventId: record.id, key: record.partitionkey, attempts, reason },
      'event dead-lettered',
    );
    return { kind: 'dead-lettered', envelope: raw as Envelope, reason, attempts };
  }

  async function handle(raw: unknown, attempt = 1): Promise<Outcome[]> {
    let envelope: Envelope;
    try {
      envelope = parseEnvelope(raw);
    } catch (error) {
      return emit([await deadLetter(raw, error, 1)]);
    }
    const kinds = options.handlers[envelope.entitytype]?.kinds;
    if (kinds && !kinds.includes(envelope.eventkind)) return emit([{ kind: 'ignored', envelope }]);
    const digest = contentDigest(envelope);
    for (let tries = 1; ; tries++) {
      try {
        const result = await db.transaction((tx) => applyInTransaction(tx, { envelope, digest, attempt }));
        return emit(toOutcomes(envelope, result));
      } catch (error) {
        const entity = `${envelope.entitytype}/${envelope.entityid}@${envelope.entityversion}`;
        if (!isRetryable(error) || tries >= maxAttempts)
          return emit([await deadLetter(envelope, error, tries)]);
        failing = {
          entity,
          tries,
          error: (error instanceof Error ? error.message : String(error)).slice(0, 500),
          at: new Date().toISOString(),
        };
        logger.warn(
          { consumer: name, eventId: envelope.id, entity, tries, err: error },
          'apply failed; retrying',
        );
        await sleep(backoffDelay(tries, options.retry));
      }
    }
  }

  async function drainKey(partitionKey: string): Promise<RepairResult> {
    const queue = await db.query<{ id: number; envelope: Envelope; original_envelope: Envelope | null }>(
      dlq.queue,
      [name, partitionKey],
    );
    let resolved = 0;
    for (const row of queue.rows) {
      const id = Number(row.id);
      const envelope = row.envelope;
      const digest = contentDigest(row.original_envelope ?? envelope);
      try {
        const result = await db.transaction((tx) =>
          applyInTransaction(tx, { envelope, digest, attempt: 1, deadLetterId: id }),
        );
        emit(toOutcomes(envelope, result));
        resolved++;
      } catch (error) {
        if (isTidemarkError(error, 'TM_DLQ_STATE')) return { resolved, failed: 0 };
        const code = isTidemarkError(error) ? error.code : 'TM_HANDLER_FAILED';
        const reason = error instanceof Error ? error.message : String(error);
        await db.query(dlq.reopen, [id, code, reason, error instanceof Error ? (error.stack ?? null) : null]);
        logger.error(
          { consumer: name, deadLetter: id, key: partitionKey, reason },
          'released dead letter failed again',
        );
        return { resolved, failed: 1 };
      }
    }
    return { resolved, failed: 0 };
  }

  async function repair(): Promise<RepairResult> {
    let resolved = 0;
    let failed = 0;
    for (;;) {
      const heads = await db.query<{ partition_key: string }>(dlq.movableHeads, [name, 100]);
      if (heads.rows.length === 0) return { resolved, failed };
      let progressed = false;
      for (const { partition_key: key } of heads.rows) {
        const result = await drainKey(key);
        resolved += result.resolved;
        failed += result.failed;
        progressed ||= result.resolved > 0 || result.failed > 0;
      }
      if (!progressed) return { resolved, failed };
    }
  }

  /**
   * The fast path: the whole batch in ONE local transaction (one commit instead of one per
   * event). Each event still goes through the full apply (lock, inbox, rules, handler). If
   * anything fails, nothing of it stays and the batch takes the careful path instead.
   */
  async function applyBatchAtOnce(messages: readonly BackboneMessage[]): Promise<boolean> {
    const requests: { envelope: Envelope; digest: string; attempt: number }[] = [];
    const ignored: Outcome[] = [];
    for (const message of messages) {
      let envelope: Envelope;
      try {
        envelope = parseEnvelope(message.envelope);
      } catch {
        return false;
      }
      const kinds = options.handlers[envelope.entitytype]?.kinds;
      if (kinds && !kinds.includes(envelope.eventkind)) ignored.push({ kind: 'ignored', envelope });
      else requests.push({ envelope, digest: contentDigest(envelope), attempt: message.deliveryAttempt });
    }
    let results: ApplyResult[];
    try {
      results = await db.transaction(async (tx) => {
        const out = await applyBatch(tx, requests);
        await recordLedger(
          tx,
          out.flatMap((r) => r.stages),
        );
        return out;
      });
    } catch (error) {
      logger.warn(
        { consumer: name, events: messages.length, err: error },
        'batch apply failed; applying one by one',
      );
      return false;
    }
    emit(ignored);
    results.forEach((result, i) => emit(toOutcomes(requests[i]!.envelope, result)));
    return true;
  }

  async function handleBatch(messages: readonly BackboneMessage[]): Promise<void> {
    if (batchApply && messages.length > 1 && (await applyBatchAtOnce(messages))) return;
    // Per key in order, keys side by side, each event in its own transaction with retries.
    const byKey = new Map<string, BackboneMessage[]>();
    for (const message of messages) {
      const key = String((message.envelope as { partitionkey?: unknown }).partitionkey);
      const list = byKey.get(key);
      if (list) list.push(message);
      else byKey.set(key, [message]);
    }
    const results = await Promise.allSettled(
      [...byKey.values()].map((list) =>
        keyLimit(async () => {
          for (const message of list) {
            await traceDelivery(name, message.envelope, () =>
              handle(message.envelope, message.deliveryAttempt),
            );
          }
        }),
      ),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    // Only infrastructure failures get here (the dead letter itself could not be written):
    // hand the batch back so it is delivered again.
    if (failed) throw failed.reason;
  }

  /** Background work an operator can ask for: released dead letters and operation requests. */
  async function runMaintenance(self: Consumer): Promise<void> {
    const runOperations = operationRunner(self, db, schema, options.backbone, logger);
    while (running) {
      try {
        await repair();
      } catch (error) {
        logger.error({ consumer: name, err: error }, 'dead-letter repair pass failed');
      }
      try {
        await runOperations();
      } catch (error) {
        logger.error({ consumer: name, err: error }, 'operation pass failed');
      }
      await gapHealer
        ?.pass()
        .catch((error: unknown) => logger.error({ consumer: name, err: error }, 'gap healing pass failed'));
      await repairWakeup.wait(options.repairIntervalMs ?? 1_000);
    }
  }

  const self: Consumer = {
    name,
    get subscription() {
      return subscription;
    },
    async start() {
      if (running) return;
      running = true;
      for (const channel of [dlqChannel(schema), operationsChannel(schema)]) {
        const stop = await db.listen(channel, () => repairWakeup.signal()).catch(() => undefined);
        if (stop) unlisten.push(stop);
      }
      repairLoop = runMaintenance(self);
      subscription = await options.backbone.subscribe(name, tracked, {
        concurrency: options.partitionConcurrency,
        batchSize: options.batchSize,
        onError: (error, info) =>
          logger.error({ consumer: name, ...info, err: error }, 'batch failed; it will be delivered again'),
      });
    },
    async stop() {
      running = false;
      repairWakeup.signal();
      await subscription?.stop();
      subscription = undefined;
      await repairLoop;
      await Promise.all(unlisten.map((stop) => stop().catch(() => undefined)));
      unlisten = [];
    },
    handle,
    handleBatch,
    repair,
    rebuild: (rebuildOptions = {}) =>
      rebuildProjection({
        db,
        s,
        name,
        backbone: options.backbone,
        handlers,
        projection,
        onProgress: rebuildOptions.onProgress,
      }),
    async appliedVersion(entityType, entityId) {
      const r = await db.query<{ version: number }>(sql.projectionVersion, [name, entityType, entityId]);
      return Number(r.rows[0]?.version ?? 0);
    },
    progress: () => ({
      batchesInHand,
      ...(inHandSince === undefined ? {} : { inHandSince: new Date(inHandSince).toISOString() }),
      ...(lastProgressAt === undefined ? {} : { lastProgressAt: new Date(lastProgressAt).toISOString() }),
      ...(failing ? { failing } : {}),
    }),
    async heldCount() {
      return Number((await db.query<{ held: number }>(sql.heldCount, [name])).rows[0]?.held ?? 0);
    },
    async recordStage(tx, change) {
      if (!sink) return;
      const received = await tx.query<{ authority: string; event_id: string | null }>(
        `SELECT authority, event_id::text AS event_id FROM ${sink.ledgerSchema}.ledger_stages
         WHERE entity_type = $1 AND entity_id = $2 AND entity_version = $3 AND context = $4 AND stage = 'delivered'`,
        [change.entityType, change.entityId, change.version, sink.context],
      );
      const row = received.rows[0];
      if (!row) {
        throw new TidemarkError(
          'TM_INVALID_ARGUMENT',
          `consumer '${name}' never received ${change.entityType}/${change.entityId} version ${change.version}; ` +
            'a stage can only be recorded for a change this context received',
          { context: { consumer: name, ...change } },
        );
      }
      await sink.write(tx, [
        {
          entityType: change.entityType,
          entityId: change.entityId,
          version: change.version,
          context: sink.context,
          stage: change.stage,
          at: new Date(),
          authority: row.authority,
          ...(row.event_id ? { eventId: row.event_id } : {}),
          ...(change.detail ? { detail: change.detail } : {}),
        },
      ]);
    },
  };
  return self;
}
