import type { Db } from '../src/store/db.js';
import { quoteIdentifier } from '../src/store/identifier.js';
import { AUTHORITY_CONTEXT, CONSUMER_GROUP, POISON_REASON } from './workers/config.js';

/**
 * Verification from independent evidence: the authority's outbox (what was committed), the
 * effect log the handlers write in their apply transaction (what took effect, in which order),
 * and the dead-letter table. Nothing here trusts a counter kept by the runtime.
 *
 * Expected per key: the first poison version is the head of the key's dead-letter queue, every
 * later version of that key is parked behind it, and every earlier version took effect once.
 */
const expectation = (s: string) => `
  WITH committed AS (
    SELECT event_id, entity_id, entity_version AS version,
           coalesce((envelope -> 'data' ->> 'poison')::boolean, false) AS poison
    FROM ${s}.outbox),
  heads AS (SELECT entity_id, min(version) AS head FROM committed WHERE poison GROUP BY entity_id),
  expected AS (
    SELECT c.*, CASE WHEN h.head IS NULL OR c.version < h.head THEN 'applied'
                     WHEN c.version = h.head THEN 'dead-letter' ELSE 'parked' END AS fate
    FROM committed c LEFT JOIN heads h USING (entity_id)),
  pending AS (
    SELECT p.envelope ->> 'id' AS event_id FROM ${s}.consumer_pending p WHERE p.consumer = '${CONSUMER_GROUP}'),
  active_dlq AS (
    SELECT event_id, status, reason FROM ${s}.dead_letters
    WHERE consumer = '${CONSUMER_GROUP}' AND status IN ('open', 'retry', 'parked')
    -- The bad-input battery's dead letters are accounted for on their own (chaos/bad-input.ts).
    AND authority = '${AUTHORITY_CONTEXT}')`;

export interface Progress {
  readonly committed: number;
  readonly expectedApplied: number;
  readonly applied: number;
  readonly expectedInDlq: number;
  readonly inDlq: number;
  /** Events behind a poison head that sit in the consumer's gap buffer instead of the DLQ. */
  readonly heldBehindPoison: number;
  /** Committed events that took effect, are in the DLQ or wait in the gap buffer. */
  readonly accountedFor: number;
  /**
   * Healthy events dead-lettered with a poison event's reason: the poison event was released
   * from the gap buffer in the same transaction and its failure was blamed on them.
   */
  readonly poisonBlamedOnPredecessor: number;
}

export async function measureProgress(db: Db, schema: string): Promise<Progress> {
  const s = quoteIdentifier(schema, 'schema name');
  const row = (
    await db.query<Record<keyof Progress, number>>(`${expectation(s)}
      SELECT (SELECT count(*) FROM committed) AS "committed",
             (SELECT count(*) FROM expected WHERE fate = 'applied') AS "expectedApplied",
             (SELECT count(DISTINCT event_id) FROM ${s}.effects) AS "applied",
             (SELECT count(*) FROM expected WHERE fate <> 'applied') AS "expectedInDlq",
             (SELECT count(*) FROM active_dlq) AS "inDlq",
             (SELECT count(*) FROM expected e JOIN pending p ON p.event_id = e.event_id::text
               WHERE e.fate = 'parked') AS "heldBehindPoison",
             (SELECT count(*) FROM expected e WHERE EXISTS (SELECT 1 FROM ${s}.effects f WHERE f.event_id = e.event_id)
               OR EXISTS (SELECT 1 FROM active_dlq d WHERE d.event_id = e.event_id::text)
               OR EXISTS (SELECT 1 FROM pending p WHERE p.event_id = e.event_id::text)) AS "accountedFor",
             (SELECT count(*) FROM active_dlq d JOIN expected e ON e.event_id::text = d.event_id
               WHERE d.status = 'open' AND NOT e.poison
               AND d.reason LIKE '${POISON_REASON.replaceAll("'", "''")}%') AS "poisonBlamedOnPredecessor"`)
  ).rows[0]!;
  return {
    committed: Number(row.committed),
    expectedApplied: Number(row.expectedApplied),
    applied: Number(row.applied),
    expectedInDlq: Number(row.expectedInDlq),
    inDlq: Number(row.inDlq),
    heldBehindPoison: Number(row.heldBehindPoison),
    accountedFor: Number(row.accountedFor),
    poisonBlamedOnPredecessor: Number(row.poisonBlamedOnPredecessor),
  };
}

/** Every committed event is accounted for (the invariants then judge where each one ended up). */
export const settled = (p: Progress): boolean => p.committed > 0 && p.accountedFor === p.committed;

export interface InvariantResult {
  readonly name: string;
  readonly holds: boolean;
  /** Offending items (0 when it holds). */
  readonly violations: number;
  readonly detail: string;
}

export interface Verification {
  readonly progress: Progress;
  readonly poisonKeys: number;
  readonly keysFlowing: number;
  readonly keysTotal: number;
  readonly invariants: readonly InvariantResult[];
  /** The first offending key and everything known about it, when any invariant fails. */
  readonly firstOffender?: { readonly key: string; readonly history: readonly Record<string, unknown>[] };
}

const count = async (db: Db, text: string): Promise<number> =>
  Number((await db.query<{ n: number }>(text)).rows[0]!.n);

export async function verify(db: Db, schema: string): Promise<Verification> {
  const s = quoteIdentifier(schema, 'schema name');
  const progress = await measureProgress(db, schema);
  const q = (body: string) => `${expectation(s)} ${body}`;
  const offenders: string[] = [];
  const firstKey = async (text: string) => {
    const r = await db.query<{ key: string }>(text);
    if (r.rows[0]) offenders.push(r.rows[0].key);
  };

  // 1. Lost: committed, and neither took effect nor sits in the DLQ or the consumer's gap buffer.
  const lostSql = `FROM expected e WHERE NOT EXISTS (SELECT 1 FROM ${s}.effects f WHERE f.event_id = e.event_id)
    AND NOT EXISTS (SELECT 1 FROM active_dlq d WHERE d.event_id = e.event_id::text)
    AND NOT EXISTS (SELECT 1 FROM pending p WHERE p.event_id = e.event_id::text)`;
  const lost = await count(db, q(`SELECT count(*) AS n ${lostSql}`));
  if (lost > 0)
    await firstKey(q(`SELECT e.entity_id AS key ${lostSql} ORDER BY e.entity_id, e.version LIMIT 1`));

  // 2. Duplicate effects: the same event, or the same (key, version), took effect twice.
  const duplicateSql = `FROM (SELECT entity_id, version, count(*) AS n FROM ${s}.effects
    GROUP BY entity_id, version HAVING count(*) > 1) d`;
  const duplicates = await count(db, `SELECT coalesce(sum(n - 1), 0) AS n ${duplicateSql}`);
  const duplicateEvents = await count(
    db,
    `SELECT coalesce(sum(n - 1), 0) AS n FROM (SELECT count(*) AS n FROM ${s}.effects GROUP BY event_id) x`,
  );
  if (duplicates > 0) await firstKey(`SELECT entity_id AS key ${duplicateSql} LIMIT 1`);

  // 3. Per-key order: in effect order (seq), the versions of a key are 1, 2, 3, … with no gap.
  const orderSql = `FROM (SELECT entity_id, version,
      row_number() OVER (PARTITION BY entity_id ORDER BY seq) AS expected FROM ${s}.effects) x
    WHERE version <> expected`;
  const orderKeys = await count(db, `SELECT count(DISTINCT entity_id) AS n ${orderSql}`);
  if (orderKeys > 0) await firstKey(`SELECT entity_id AS key ${orderSql} ORDER BY entity_id LIMIT 1`);

  // 4. Poison: each poison head is an open dead letter with its reason; the rest of its key is parked.
  const poisonKeys = await count(db, q(`SELECT count(*) AS n FROM expected WHERE fate = 'dead-letter'`));
  const headsMissingSql = `FROM expected e WHERE e.fate = 'dead-letter' AND NOT EXISTS (
      SELECT 1 FROM active_dlq d WHERE d.event_id = e.event_id::text AND d.status = 'open'
      AND d.reason LIKE '${POISON_REASON.replaceAll("'", "''")}%')`;
  const headsMissing = await count(db, q(`SELECT count(*) AS n ${headsMissingSql}`));
  if (headsMissing > 0) await firstKey(q(`SELECT e.entity_id AS key ${headsMissingSql} LIMIT 1`));
  const parkedMissingSql = `FROM expected e WHERE e.fate = 'parked' AND NOT EXISTS (
      SELECT 1 FROM active_dlq d WHERE d.event_id = e.event_id::text AND d.status = 'parked')`;
  const parkedMissing = await count(db, q(`SELECT count(*) AS n ${parkedMissingSql}`));
  if (parkedMissing > 0) await firstKey(q(`SELECT e.entity_id AS key ${parkedMissingSql} LIMIT 1`));
  const parkedExpected = await count(db, q(`SELECT count(*) AS n FROM expected WHERE fate = 'parked'`));

  // 5. Nothing else in the DLQ, and nothing meant for it took effect.
  const strayDlqSql = `FROM active_dlq d LEFT JOIN expected e ON e.event_id::text = d.event_id
    WHERE e.fate IS DISTINCT FROM 'dead-letter' AND e.fate IS DISTINCT FROM 'parked'`;
  const strayDlq = await count(db, q(`SELECT count(*) AS n ${strayDlqSql}`));
  if (strayDlq > 0)
    await firstKey(q(`SELECT coalesce(e.entity_id, d.event_id) AS key ${strayDlqSql} LIMIT 1`));
  const appliedPastPoisonSql = `FROM expected e JOIN ${s}.effects f USING (event_id) WHERE e.fate <> 'applied'`;
  const appliedPastPoison = await count(db, q(`SELECT count(*) AS n ${appliedPastPoisonSql}`));
  if (appliedPastPoison > 0) await firstKey(q(`SELECT e.entity_id AS key ${appliedPastPoisonSql} LIMIT 1`));

  // Keys flowing: every committed version of an unpoisoned key took effect.
  const keysTotal = await count(db, `SELECT count(DISTINCT entity_id) AS n FROM ${s}.outbox`);
  const keysFlowing = await count(
    db,
    q(`SELECT count(*) AS n FROM (SELECT entity_id FROM expected GROUP BY entity_id
      HAVING bool_and(fate = 'applied') AND count(*) = (SELECT count(DISTINCT event_id) FROM ${s}.effects f
        WHERE f.entity_id = expected.entity_id)) k`),
  );

  const invariants: InvariantResult[] = [
    {
      name: 'no committed event lost',
      holds: lost === 0,
      violations: lost,
      detail:
        `${progress.committed} committed; ${progress.applied} took effect, ${progress.inDlq} in the DLQ, ` +
        `${progress.heldBehindPoison} held behind a poison event, ${lost} nowhere`,
    },
    {
      name: 'no duplicate effect',
      holds: duplicates === 0 && duplicateEvents === 0,
      violations: Math.max(duplicates, duplicateEvents),
      detail: `${duplicates} extra effects of a (key, version), ${duplicateEvents} of an event id`,
    },
    {
      name: 'per-key order kept',
      holds: orderKeys === 0,
      violations: orderKeys,
      detail: `${orderKeys} keys whose effects are not versions 1, 2, 3, … in effect order`,
    },
    {
      name: 'every poison event in the DLQ with its reason',
      holds: headsMissing === 0,
      violations: headsMissing,
      detail: `${poisonKeys - headsMissing} of ${poisonKeys} poison events are open dead letters with the poison reason`,
    },
    {
      name: 'keys behind a poison event parked, not lost',
      holds: parkedMissing === 0 && appliedPastPoison === 0,
      violations: parkedMissing + appliedPastPoison,
      detail:
        `${parkedExpected - parkedMissing} of ${parkedExpected} later events of poisoned keys parked ` +
        `(${progress.heldBehindPoison} in the gap buffer instead); ${appliedPastPoison} took effect past their poison head`,
    },
    {
      name: 'nothing else dead-lettered',
      holds: strayDlq === 0,
      violations: strayDlq,
      detail:
        `${strayDlq} dead letters for events that were not poison or behind one ` +
        `(${progress.poisonBlamedOnPredecessor} carrying a later poison event's reason)`,
    },
    {
      name: 'other keys flowing',
      holds: keysFlowing === keysTotal - poisonKeys,
      violations: keysTotal - poisonKeys - keysFlowing,
      detail: `${keysFlowing} of ${keysTotal - poisonKeys} unpoisoned keys fully applied`,
    },
  ];
  const key = offenders[0];
  return {
    progress,
    poisonKeys,
    keysFlowing,
    keysTotal,
    invariants,
    ...(key === undefined ? {} : { firstOffender: { key, history: await history(db, s, key) } }),
  };
}

/** A key's committed versions beside what took effect and what the DLQ holds, for a failing run. */
async function history(db: Db, s: string, key: string): Promise<Record<string, unknown>[]> {
  const r = await db.query<Record<string, unknown>>(
    `SELECT o.entity_version AS version, o.event_id::text AS event_id,
            coalesce((o.envelope -> 'data' ->> 'poison')::boolean, false) AS poison,
            (SELECT array_agg(f.seq || '@' || f.worker ORDER BY f.seq) FROM ${s}.effects f
              WHERE f.event_id = o.event_id) AS effects,
            (SELECT array_agg(d.status ORDER BY d.id) FROM ${s}.dead_letters d
              WHERE d.event_id = o.event_id::text) AS dead_letters,
            EXISTS (SELECT 1 FROM ${s}.consumer_pending p
              WHERE p.envelope ->> 'id' = o.event_id::text) AS held
     FROM ${s}.outbox o WHERE o.entity_id = $1 ORDER BY o.entity_version LIMIT 50`,
    [key],
  );
  return r.rows;
}
