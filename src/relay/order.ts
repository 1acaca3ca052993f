import type { Envelope } from '../envelope/types.js';

/**
 * Transaction ids are handed out when a transaction first writes, not when it commits,
 * so a transaction that wrote something else early can hold version 2 of an entity with
 * a lower txid than the one holding version 1. Both become readable together; this puts
 * each entity's events back in version order within the batch while every entity keeps
 * its slots, so the interleaving between entities is unchanged. (Across batches the
 * consumer's version rules keep effects in order.)
 */
export function orderVersionsWithinBatch(batch: readonly Envelope[]): Envelope[] {
  return orderWithinBatch(
    batch,
    (e) => `${e.entitytype}\u0000${e.entityid}`,
    (e) => e.entityversion,
  );
}

/** The same fix-up over any row shape, given how to read its entity and version. */
export function orderWithinBatch<T>(
  batch: readonly T[],
  entityOf: (row: T) => string,
  versionOf: (row: T) => number,
): T[] {
  const slots = new Map<string, number[]>();
  batch.forEach((row, index) => {
    const key = entityOf(row);
    const list = slots.get(key);
    if (list) list.push(index);
    else slots.set(key, [index]);
  });
  const ordered = [...batch];
  for (const indexes of slots.values()) {
    if (indexes.length < 2) continue;
    const events = indexes.map((i) => batch[i]!).sort((a, b) => versionOf(a) - versionOf(b));
    indexes.forEach((slot, k) => {
      ordered[slot] = events[k]!;
    });
  }
  return ordered;
}
