import type { Sql } from '../store/db.js';
import { digestStatements } from './store.js';

export const driftClasses = ['missing', 'stale', 'orphan', 'divergent'] as const;
/**
 * - `missing`: the authority has the entity, the replica not.
 * - `stale`: the replica holds an older version.
 * - `orphan`: the replica holds an entity the authority does not have.
 * - `divergent`: same version, different content (or a replica ahead of the authority).
 */
export type DriftClass = (typeof driftClasses)[number];

export interface DigestRow {
  readonly version: number;
  readonly digest: string;
}

export interface Finding {
  readonly entityId: string;
  readonly class: DriftClass;
  readonly authorityVersion: number | null;
  readonly replicaVersion: number | null;
}

/** One side of a comparison: a database (or transaction) and the scope's key in its schema. */
export interface DigestSource {
  readonly sql: Sql;
  /** Quoted schema. */
  readonly s: string;
  readonly scope: string;
}

export interface RowsRead {
  /** Bucket digests read, both sides together. */
  buckets: number;
  /** Row digests read from buckets that differ, both sides together. */
  rows: number;
}

export function classify(
  entityId: string,
  authority: DigestRow | undefined,
  replica: DigestRow | undefined,
): Finding | undefined {
  if (authority && replica && authority.digest === replica.digest && authority.version === replica.version)
    return undefined;
  if (!authority && !replica) return undefined;
  const found = (cls: DriftClass): Finding => ({
    entityId,
    class: cls,
    authorityVersion: authority?.version ?? null,
    replicaVersion: replica?.version ?? null,
  });
  if (!replica) return found('missing');
  if (!authority) return found('orphan');
  return found(replica.version < authority.version ? 'stale' : 'divergent');
}

export async function readBuckets(side: DigestSource): Promise<Map<number, string>> {
  const result = await side.sql.query<{ bucket: number; digest: string; rows: string }>(
    digestStatements(side.s).buckets,
    [side.scope],
  );
  return new Map(result.rows.map((r) => [Number(r.bucket), `${r.digest}/${r.rows}`]));
}

/** Buckets whose digest or row count differ; an absent bucket is an empty one. */
export function differingBuckets(a: Map<number, string>, b: Map<number, string>): number[] {
  const out: number[] = [];
  for (const [bucket, value] of a) if (b.get(bucket) !== value) out.push(bucket);
  for (const bucket of b.keys()) if (!a.has(bucket)) out.push(bucket);
  return out.sort((x, y) => x - y);
}

/** Digest and row count of each non-empty sub-bucket of `buckets`, computed by the database. */
export async function readSubBuckets(
  side: DigestSource,
  buckets: readonly number[],
): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  const sql = digestStatements(side.s);
  for (let i = 0; i < buckets.length; i += 256) {
    const result = await side.sql.query<{ sub: number; digest: string; rows: string }>(sql.subBuckets, [
      side.scope,
      buckets.slice(i, i + 256),
    ]);
    for (const r of result.rows) out.set(Number(r.sub), `${r.digest}/${r.rows}`);
  }
  return out;
}

/** The row digests of the given sub-buckets. */
export async function readRows(
  side: DigestSource,
  subBuckets: readonly number[],
): Promise<Map<string, DigestRow>> {
  const out = new Map<string, DigestRow>();
  const sql = digestStatements(side.s);
  const buckets = subBuckets;
  for (let i = 0; i < buckets.length; i += 256) {
    const result = await side.sql.query<{ entity_id: string; version: string; digest: string }>(sql.rowsIn, [
      side.scope,
      buckets.slice(i, i + 256),
    ]);
    for (const r of result.rows) out.set(r.entity_id, { version: Number(r.version), digest: r.digest });
  }
  return out;
}

export async function readRow(side: DigestSource, entityId: string): Promise<DigestRow | undefined> {
  const r = (
    await side.sql.query<{ version: string; digest: string }>(digestStatements(side.s).row, [
      side.scope,
      entityId,
    ])
  ).rows[0];
  return r ? { version: Number(r.version), digest: r.digest } : undefined;
}

/** Findings of the rows in `buckets`, in entity-id order. */
export function compareRows(authority: Map<string, DigestRow>, replica: Map<string, DigestRow>): Finding[] {
  const ids = new Set([...authority.keys(), ...replica.keys()]);
  const findings: Finding[] = [];
  for (const id of [...ids].sort()) {
    const finding = classify(id, authority.get(id), replica.get(id));
    if (finding) findings.push(finding);
  }
  return findings;
}
