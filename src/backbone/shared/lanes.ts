import type { Envelope } from '../../envelope/types.js';
import { partitionOf } from '../partition.js';

/**
 * A batch split by partition, each lane in batch order: lanes may be published in parallel, the
 * events of one lane must go one after another to keep per-key order.
 */
export function lanesByPartition(batch: readonly Envelope[], partitions: number): Map<number, Envelope[]> {
  const lanes = new Map<number, Envelope[]>();
  for (const envelope of batch) {
    const partition = partitionOf(envelope.partitionkey, partitions);
    const lane = lanes.get(partition);
    if (lane) lane.push(envelope);
    else lanes.set(partition, [envelope]);
  }
  return lanes;
}
