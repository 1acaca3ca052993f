import { hostname } from 'node:os';
import type { Backbone, HistoryQuery } from '../backbone/backbone.js';
import { operationRequests, type OperationRequest } from '../operations/requests.js';
import { replay } from '../replay/replay.js';
import type { Db } from '../store/db.js';
import type { Consumer, Logger } from './types.js';

function historyQuery(params: Record<string, unknown>): HistoryQuery {
  const date = (v: unknown) => (typeof v === 'string' ? new Date(v) : undefined);
  const number = (v: unknown) => (typeof v === 'number' ? v : undefined);
  return {
    fromPosition: number(params.fromPosition),
    toPosition: number(params.toPosition),
    fromTime: date(params.fromTime),
    toTime: date(params.toTime),
    keys: Array.isArray(params.keys) ? params.keys.map(String) : undefined,
  };
}

/**
 * Carries out operation requests addressed to this consumer (replays, rebuilds). Runs them one at
 * a time; another instance of the same consumer never takes the same request.
 */
export function operationRunner(
  consumer: Consumer,
  db: Db,
  schema: string,
  backbone: Backbone,
  logger: Logger,
) {
  const requests = operationRequests(db, schema);
  const runner = `${hostname()}-${process.pid}`;

  async function execute(request: OperationRequest): Promise<Record<string, unknown>> {
    let lastWrite = 0;
    const onProgress = ({ done, total }: { done: number; total: number }) => {
      const now = Date.now();
      if (now - lastWrite < 250 && done < total) return;
      lastWrite = now;
      void requests.progress(request.id, done, total).catch(() => undefined);
    };
    if (request.kind === 'rebuild') {
      const result = await consumer.rebuild({ onProgress });
      await requests.progress(request.id, result.replayed, result.replayed);
      return { ...result };
    }
    const result = await replay({ consumer, backbone, query: historyQuery(request.params), onProgress });
    await requests.progress(request.id, result.delivered, result.total);
    return result;
  }

  /** Runs every pending request; returns how many it ran. */
  return async function runPending(): Promise<number> {
    let ran = 0;
    for (;;) {
      const request = await requests.claim(consumer.name, runner);
      if (!request) return ran;
      ran++;
      logger.info({ consumer: consumer.name, request: request.id, kind: request.kind }, 'operation started');
      try {
        await requests.finish(request.id, { result: await execute(request) });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        logger.error({ consumer: consumer.name, request: request.id, reason: message }, 'operation failed');
        await requests.finish(request.id, { error: message });
      }
    }
  };
}
