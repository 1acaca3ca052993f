import type { Redis } from 'ioredis';
import type { Envelope } from '../../envelope/types.js';
import { TidemarkError } from '../../errors.js';
import { partitionOf } from '../partition.js';
import type { Naming, RedisStreamsConfig } from './options.js';
import { publishScript } from './scripts.js';

/**
 * Publishes a batch and resolves once Redis has stored every entry. One script call per event
 * sets the dedup key `seen:<event id>` (expiring after the duplicate window) and appends to the
 * partition stream only if that key was new, atomically, so a retried batch stores nothing twice.
 *
 * All calls go down one connection as one pipeline: Redis runs them in the order sent, so if the
 * connection breaks half-way, what was stored is a prefix of each partition's sequence and a
 * retry (deduplicated) keeps per-key order.
 */
export function createPublisher(redis: Redis, config: RedisStreamsConfig, names: Naming) {
  return async function publish(batch: readonly Envelope[]): Promise<void> {
    const pipeline = redis.pipeline();
    for (const envelope of batch) {
      const stream = names.stream(partitionOf(envelope.partitionkey, config.partitions));
      pipeline.eval(
        publishScript,
        2,
        names.dedup(envelope.id),
        stream,
        config.duplicateWindowMs,
        JSON.stringify(envelope),
        config.maxLengthPerPartition ?? 0,
      );
    }
    let results: [Error | null, unknown][] | null;
    try {
      results = await pipeline.exec();
    } catch (cause) {
      throw failure(config, batch[0]!, cause);
    }
    results?.forEach(([error], i) => {
      if (error) throw failure(config, batch[i]!, error);
    });
  };
}

function failure(config: RedisStreamsConfig, envelope: Envelope, cause: unknown): TidemarkError {
  return new TidemarkError(
    'TM_SERVICE_UNREACHABLE',
    `publishing event ${envelope.id} to Redis streams '{${config.prefix}}:p*' at ${config.address} failed: ` +
      `${cause instanceof Error ? cause.message : String(cause)}; the batch can be retried as is (event ids ` +
      'deduplicate within the duplicate window); check the server and its maxmemory policy',
    { cause, context: { prefix: config.prefix, eventId: envelope.id } },
  );
}
