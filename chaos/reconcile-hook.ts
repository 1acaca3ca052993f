import type { Backbone } from '../src/backbone/backbone.js';
import { createConsumer } from '../src/consumer/index.js';
import { createReconciler, driftClasses, rebuildDigests, type DriftClass } from '../src/reconcile/index.js';
import type { RepairOutcome } from '../src/reconcile/index.js';
import type { Db } from '../src/store/db.js';
import { quoteIdentifier } from '../src/store/identifier.js';
import { seededRandom } from '../src/util/random.js';
import { sleep } from '../src/util/wakeup.js';
import { CONSUMER_GROUP, ENTITY_TYPE } from './workers/config.js';
import { projectorSchemas } from './workers/schemas.js';
import {
  AUTHORITY_TABLE,
  FLOW,
  PROJECTION_TABLE,
  projectorDigests,
  projectorHandler,
} from './workers/projection.js';

/** What was drifted behind the runtime's back, and when. */
export interface ReplicaDrift {
  readonly atEvent: number;
  readonly deleted: readonly string[];
  readonly altered: readonly string[];
}

/** What the drift-and-reconcile step did and found; `not-run` when the run never got that far. */
export interface ReplicaDriftResult {
  readonly status: 'not-run' | 'converged' | 'diverged';
  readonly detail: string;
  readonly drift?: ReplicaDrift;
  /** Found by a dry run on the digests the handlers kept, before the replica's digests were rebuilt. */
  readonly foundByLiveDigests?: Readonly<Record<DriftClass, number>>;
  /** Found by the one repairing run, after rebuilding the replica's digests from its table. */
  readonly found?: Readonly<Record<DriftClass, number>>;
  readonly outcomes?: Readonly<Partial<Record<RepairOutcome | 'dry-run', number>>>;
  /** Keys whose replica row differs from the authority's after the run, with an open exception each. */
  readonly differingWithException?: number;
  /** Keys whose replica row differs from the authority's after the run without both an exception and a poison event: must be 0. */
  readonly differingUnexplained?: number;
  /** Keys behind a poison event: their rows legitimately lag, and each should get an exception. */
  readonly poisonedKeys?: number;
  /** Drifted keys that are also poisoned: reconciliation must leave them to a person, parking nothing. */
  readonly driftedPoisonedKeys?: number;
  readonly firstUnexplained?: { readonly id: string; readonly authority: string; readonly replica: string };
  readonly reconcileMs?: number;
}

/** When the drift fires: a seeded point between 30 % and 70 % of the workload. */
export function driftPoint(seed: number, events: number): number {
  const random = seededRandom(seed ^ 0x5eed_d21f);
  return Math.max(1, Math.floor(events * (0.3 + random() * 0.4)));
}

/**
 * Drifts the projector's table the way nobody sees at the time: plain SQL, no inbox, no digest.
 * Victims are any keys, poisoned ones included (reconciliation leaves a key parked behind a dead
 * letter to a person), half deleted, half altered.
 */
export async function driftReplica(
  db: Db,
  schema: string,
  options: { readonly seed: number; readonly keys: number; readonly atEvent: number },
): Promise<ReplicaDrift> {
  const s = quoteIdentifier(schema, 'schema name');
  const victims = Math.max(4, Math.round(options.keys * 0.02));
  // The consumers may still be catching up (after a NATS restart, say): wait for enough rows.
  const deadline = Date.now() + 30_000;
  let ids: string[];
  for (;;) {
    ids = (
      await db.query<{ id: string }>(
        // The first victim is a poisoned key when there is one yet, so the overlap is exercised.
        `SELECT id FROM ${s}.${PROJECTION_TABLE} p
         ORDER BY id = (SELECT min(o.entity_id) FROM ${s}.outbox o
                        WHERE (o.envelope -> 'data' ->> 'poison')::boolean
                          AND EXISTS (SELECT 1 FROM ${s}.${PROJECTION_TABLE} q WHERE q.id = o.entity_id)) DESC NULLS LAST,
                  md5(id || $1) LIMIT $2`,
        [String(options.seed), victims],
      )
    ).rows.map((r) => r.id);
    if (ids.length >= victims || Date.now() > deadline) break;
    await sleep(250);
  }
  const deleted = ids.slice(0, Math.ceil(ids.length / 2));
  const altered = ids.slice(deleted.length);
  await db.query(`DELETE FROM ${s}.${PROJECTION_TABLE} WHERE id = ANY($1)`, [deleted]);
  await db.query(`UPDATE ${s}.${PROJECTION_TABLE} SET total = total + 1000003 WHERE id = ANY($1)`, [altered]);
  return { atEvent: options.atEvent, deleted, altered };
}

/**
 * After convergence, with the workers stopped: one dry run on the digests as the handlers left
 * them, then what an operator does after rows changed behind the consumer's back (rebuild the
 * replica's digests from its table), then ONE repairing run. Missing and divergent rows are
 * rehydrated through the projector's own handler (`consumer.handle`, not started: it only serves
 * repairs), orphans tombstoned, stale rows (keys parked behind a poison event) left to a person as
 * exceptions. Then the tables themselves are compared: every key must match or have an open exception.
 */
export async function reconcileReplica(context: {
  readonly db: Db;
  readonly schema: string;
  readonly backbone: Backbone;
  readonly drift: ReplicaDrift | undefined;
}): Promise<ReplicaDriftResult> {
  const { db, schema, drift } = context;
  if (!drift) return { status: 'not-run', detail: 'the drift never fired (the run stopped before it)' };
  const s = quoteIdentifier(schema, 'schema name');
  const digests = projectorDigests(schema);
  // It validates on receipt like the workers: a repair is checked against the entity's state
  // schema, and the projector registers none, so repairs pass (docs/reconcile.md).
  const consumer = createConsumer({
    name: CONSUMER_GROUP,
    db,
    backbone: context.backbone,
    schema,
    ledger: false,
    projection: { tables: [PROJECTION_TABLE] },
    retry: { attempts: 1 },
    handlers: { [ENTITY_TYPE]: projectorHandler(schema, digests) },
    receive: { schemas: projectorSchemas() },
  });
  const source = {
    async fetch(id: string) {
      const row = (
        await db.query<{ version: string; total: string }>(
          `SELECT version::text, total::text FROM ${s}.${AUTHORITY_TABLE} WHERE id = $1`,
          [id],
        )
      ).rows[0];
      return row && { version: Number(row.version), state: { total: Number(row.total) } };
    },
  };
  const reconciler = createReconciler({
    flow: FLOW,
    authority: { db, schema },
    replica: { db, schema },
    repair: { missing: 'rehydrate', divergent: 'rehydrate', stale: 'exception', orphan: 'tombstone' },
    source,
    consumer,
    settleMs: 0,
    examples: 0,
  });
  const started = Date.now();
  const live = await reconciler.run({ dryRun: true });
  await rebuildDigests(
    db,
    digests,
    (
      await db.query<{ id: string; version: string; total: string }>(
        `SELECT id, version::text, total::text FROM ${s}.${PROJECTION_TABLE}`,
      )
    ).rows.map((r) => ({ id: r.id, version: Number(r.version), state: { total: Number(r.total) } })),
  );
  const report = await reconciler.run();
  const reconcileMs = Date.now() - started;

  // Independent of the reconciler's own report: the two tables, the outbox and the exceptions.
  const differing = (
    await db.query<{ id: string; authority: string; replica: string; excepted: boolean; poisoned: boolean }>(
      `SELECT coalesce(a.id, b.id) AS id,
              coalesce(a.version || ':' || a.total, '(none)') AS authority,
              coalesce(b.version || ':' || b.total, '(none)') AS replica,
              EXISTS (SELECT 1 FROM ${s}.recon_exceptions e
                      WHERE e.flow = $1 AND e.entity_id = coalesce(a.id, b.id) AND e.status = 'open') AS excepted,
              EXISTS (SELECT 1 FROM ${s}.outbox o WHERE o.entity_id = coalesce(a.id, b.id)
                      AND (o.envelope -> 'data' ->> 'poison')::boolean) AS poisoned
       FROM ${s}.${AUTHORITY_TABLE} a FULL JOIN ${s}.${PROJECTION_TABLE} b ON a.id = b.id
       WHERE (a.version, a.total) IS DISTINCT FROM (b.version, b.total)
       ORDER BY 1`,
      [FLOW],
    )
  ).rows;
  const driftedPoisonedKeys = Number(
    (
      await db.query<{ n: string }>(
        `SELECT count(DISTINCT entity_id) AS n FROM ${s}.outbox
          WHERE (envelope -> 'data' ->> 'poison')::boolean AND entity_id = ANY($1)`,
        [[...drift.deleted, ...drift.altered]],
      )
    ).rows[0]!.n,
  );
  const poisonedKeys = Number(
    (
      await db.query<{ n: string }>(
        `SELECT count(DISTINCT entity_id) AS n FROM ${s}.outbox WHERE (envelope -> 'data' ->> 'poison')::boolean`,
      )
    ).rows[0]!.n,
  );
  // A difference is explained only by an open exception on a key parked behind a poison event.
  const unexplained = differing.filter((d) => !d.excepted || !d.poisoned);
  const counts = Object.fromEntries(driftClasses.map((c) => [c, report.found[c]])) as Record<
    DriftClass,
    number
  >;
  const driftedKeys = drift.deleted.length + drift.altered.length;
  const holds = unexplained.length === 0 && differing.length === poisonedKeys;
  return {
    status: holds ? 'converged' : 'diverged',
    detail:
      `${driftedKeys} rows drifted at event ${drift.atEvent} (${drift.deleted.length} deleted, ` +
      `${drift.altered.length} altered); one run found ${counts.missing} missing, ${counts.divergent} divergent, ` +
      `${counts.orphan} orphan, ${counts.stale} stale; after it ${differing.length - unexplained.length} keys differ ` +
      `with an open exception (${poisonedKeys} poisoned keys), ${unexplained.length} without`,
    drift,
    foundByLiveDigests: live.found,
    found: counts,
    outcomes: report.outcomes,
    differingWithException: differing.length - unexplained.length,
    differingUnexplained: unexplained.length,
    poisonedKeys,
    driftedPoisonedKeys,
    ...(unexplained[0]
      ? {
          firstUnexplained: {
            id: unexplained[0].id,
            authority: unexplained[0].authority,
            replica: unexplained[0].replica,
          },
        }
      : {}),
    reconcileMs,
  };
}
