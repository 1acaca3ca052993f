import { contentDigest } from '../envelope/canonical.js';
import type { Envelope } from '../envelope/types.js';
import type { Sql } from '../store/db.js';
import { deadLetterStatements } from '../dlq/sql.js';
import { consumerStatements } from './sql.js';

/**
 * Moves the events of one entity that were waiting in the gap buffer for an earlier version
 * into the dead-letter queue, parked behind `behind` (a dead letter of that entity): that
 * earlier version will not arrive by itself now, and the queue is what an operator's retry or
 * skip moves on. In version order, so they apply in order once released.
 * @param s the quoted Tidemark schema
 */
export async function parkHeldBehind(
  tx: Sql,
  s: string,
  consumer: string,
  entity: { readonly type: string; readonly id: string },
  behind: number,
): Promise<number> {
  const moved = await tx.query<{ entity_version: number; envelope: Envelope }>(
    `DELETE FROM ${s}.consumer_pending WHERE consumer = $1 AND entity_type = $2 AND entity_id = $3
     RETURNING entity_version, envelope`,
    [consumer, entity.type, entity.id],
  );
  const dlq = deadLetterStatements(s);
  const held = [...moved.rows].sort((a, b) => Number(a.entity_version) - Number(b.entity_version));
  for (const { envelope } of held) {
    // Its inbox entry said "held"; it takes the normal path again when the queue moves.
    await tx.query(consumerStatements(s).forgetHeld, [consumer, envelope.authority, envelope.id]);
    await tx.query(dlq.park, [
      consumer,
      envelope.authority,
      envelope.id,
      envelope.entitytype,
      envelope.entityid,
      envelope.entityversion,
      envelope.partitionkey,
      JSON.stringify(envelope),
      contentDigest(envelope),
      `waiting behind dead letter #${behind} of the same key (it was held for that earlier version)`,
    ]);
  }
  return held.length;
}
