import { createHash } from 'node:crypto';
import { canonicalJson } from '../envelope/canonical.js';

/** Buckets per scope: enough that a small drift touches few of them, few enough to read all at once. */
export const bucketCount = 4096;

/** Sub-buckets per bucket, compared only inside buckets that differ. */
export const subBucketsPerBucket = 16;

/**
 * The slot of an entity id: the first 24 bits of its SHA-256. Its top 12 bits are the bucket,
 * its top 16 the sub-bucket; rows are indexed by slot so both are ranges.
 */
export function slotOf(entityId: string): number {
  const hash = createHash('sha256').update(entityId).digest();
  return (hash[0]! << 16) | (hash[1]! << 8) | hash[2]!;
}

/** The bucket of an entity id: the first 12 bits of its SHA-256. */
export function bucketOf(entityId: string): number {
  return slotOf(entityId) >> 12;
}

/** Only the fields the consumer may hold; a field the state lacks is left out, never guessed. */
export function pickFields(state: unknown, fields: readonly string[]): Record<string, unknown> {
  const source = (state !== null && typeof state === 'object' ? state : {}) as Record<string, unknown>;
  const picked: Record<string, unknown> = {};
  for (const field of fields) if (source[field] !== undefined) picked[field] = source[field];
  return picked;
}

/**
 * 64-bit digest of one row: id, version and the allowed fields in canonical JSON. Signed, to fit
 * PostgreSQL's bigint; buckets combine row digests with XOR, which is order-independent and
 * undone by XOR-ing the same digest again (an update removes the old digest, adds the new).
 */
export function rowDigest(entityId: string, version: number, content: Record<string, unknown>): bigint {
  const hash = createHash('sha256')
    .update(canonicalJson([entityId, version, content]))
    .digest();
  return hash.readBigInt64BE(0);
}
