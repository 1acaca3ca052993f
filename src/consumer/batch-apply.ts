import type { Envelope } from '../envelope/types.js';
import { stageOf } from '../ledger/sink.js';
import type { Sql } from '../store/db.js';
import {
  createHandlerRunner,
  inboxIdConflict,
  type ApplierSetup,
  type ApplyRequest,
  type ApplyResult,
} from './apply.js';
import { decide } from './apply-rules.js';
import { consumerStatements } from './sql.js';

type ApplyOne = (tx: Sql, request: ApplyRequest) => Promise<ApplyResult>;

interface Found {
  readonly digest: string | null;
  readonly version: string | number | null;
  readonly blocked_by: string | number | null;
  readonly pending: boolean;
}

/** Inbox rows and applied versions the batch owes the database, written in one statement each. */
class PendingWrites {
  readonly inbox: unknown[][] = [[], [], [], [], [], [], []];
  readonly versions = new Map<string, [type: string, id: string, version: number]>();

  received(envelope: Envelope, digest: string, outcome: 'applied' | 'duplicate'): void {
    const row = [
      envelope.authority,
      envelope.id,
      envelope.entitytype,
      envelope.entityid,
      envelope.entityversion,
      digest,
      outcome,
    ];
    row.forEach((value, i) => this.inbox[i]!.push(value));
  }

  get empty(): boolean {
    return this.inbox[0]!.length === 0 && this.versions.size === 0;
  }
}

const entityKey = (e: Envelope): string => JSON.stringify([e.entitytype, e.entityid]);

/**
 * The batch path: a whole batch in the caller's transaction with a fixed number of statements
 * for the bookkeeping — one lock statement, one lookup, one inbox insert, one applied-version
 * upsert — plus the handlers' own writes. The decisions are the per-event path's (same rules,
 * same order per entity); only where they would need more than the lookup told (events of the
 * entity held in consumer_pending, a dead letter ahead on the key, a gap opening in this batch)
 * the entity leaves the batch path and every later event of it goes through `applyOne`, after
 * what the batch owes so far is written so that `applyOne` reads the current state.
 */
export function createBatchApplier(setup: ApplierSetup, applyOne: ApplyOne) {
  const { name, s, lockKey } = setup;
  const sql = consumerStatements(s);
  const runRules = createHandlerRunner(setup);

  async function flush(tx: Sql, writes: PendingWrites): Promise<void> {
    if (writes.inbox[0]!.length > 0) {
      await tx.query(sql.inboxInsertMany, [name, ...writes.inbox]);
      writes.inbox.forEach((column) => (column.length = 0));
    }
    if (writes.versions.size > 0) {
      const rows = [...writes.versions.values()];
      await tx.query(sql.setAppliedMany, [
        name,
        rows.map((r) => r[0]),
        rows.map((r) => r[1]),
        rows.map((r) => r[2]),
      ]);
      writes.versions.clear();
    }
  }

  return async function applyBatch(tx: Sql, requests: readonly ApplyRequest[]): Promise<ApplyResult[]> {
    if (requests.length === 0) return [];
    const envelopes = requests.map((r) => r.envelope);
    const lockKeys = [...new Set(envelopes.map((e) => JSON.stringify([name, e.entitytype, e.entityid])))];
    await tx.query(sql.lockEntities, [lockKeys, lockKey]);
    const found = (
      await tx.query<Found>(sql.lookupMany, [
        name,
        envelopes.map((e) => e.authority),
        envelopes.map((e) => e.id),
        envelopes.map((e) => e.entitytype),
        envelopes.map((e) => e.entityid),
        envelopes.map((e) => e.partitionkey),
      ])
    ).rows;

    const writes = new PendingWrites();
    /** Entities that left the batch path for this batch. */
    const careful = new Set<string>();
    /** Partition keys that got a dead letter in this batch: later events of the key park. */
    const blockedKeys = new Set<string>();
    const applied = new Map<string, number>();
    const receivedHere = new Map<string, string>();
    const results: ApplyResult[] = [];
    const applyCarefully = async (request: ApplyRequest): Promise<ApplyResult> => {
      await flush(tx, writes);
      const result = await applyOne(tx, request);
      if (result.kind === 'applied' && result.failedHeld)
        blockedKeys.add(result.failedHeld.envelope.partitionkey);
      return result;
    };
    for (const [i, request] of requests.entries()) {
      const { envelope, digest, attempt } = request;
      const key = entityKey(envelope);
      const row = found[i]!;
      if (row.blocked_by != null || row.pending || blockedKeys.has(envelope.partitionkey)) careful.add(key);
      const eventKey = `${envelope.authority}\u0000${envelope.id}`;
      const knownDigest = row.digest ?? receivedHere.get(eventKey);
      if (careful.has(key)) {
        results.push(await applyCarefully(request));
        receivedHere.set(eventKey, digest);
        continue;
      }
      if (knownDigest !== undefined && knownDigest !== null) {
        if (knownDigest !== digest) {
          throw inboxIdConflict(name, envelope);
        }
        results.push({ kind: 'duplicate', stages: [] });
        continue;
      }
      const stored = applied.get(key) ?? Number(row.version ?? 0);
      const decision = decide(envelope.eventkind, envelope.entityversion, stored);
      if (decision === 'gap') {
        careful.add(key);
        results.push(await applyCarefully(request));
        receivedHere.set(eventKey, digest);
        continue;
      }
      receivedHere.set(eventKey, digest);
      if (decision === 'duplicate') {
        writes.received(envelope, digest, 'duplicate');
        results.push({ kind: 'duplicate', stages: [] });
        continue;
      }
      const outcome = await runRules(tx, envelope, attempt);
      writes.received(envelope, digest, 'applied');
      writes.versions.set(key, [envelope.entitytype, envelope.entityid, envelope.entityversion]);
      applied.set(key, envelope.entityversion);
      results.push({
        kind: 'applied',
        applied: [envelope],
        stages: [
          stageOf(envelope, setup.ledgerContext, 'delivered'),
          stageOf(envelope, setup.ledgerContext, outcome.stage, outcome.detail),
        ],
      });
    }
    if (!writes.empty) await flush(tx, writes);
    return results;
  };
}
