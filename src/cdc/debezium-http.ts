import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { TidemarkError } from '../errors.js';
import { problemMediaType, problemOf } from '../pull/problem.js';
import type { DebeziumIngest } from './debezium.js';

export interface DebeziumHttpOptions {
  readonly ingest: DebeziumIngest;
  /**
   * The bearer token the sender must present (`Authorization: Bearer <token>`). Ingesting writes
   * domain events, so the endpoint refuses every request without it.
   */
  readonly token: string;
  /** Default `/debezium`. */
  readonly path?: string;
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/**
 * An HTTP endpoint for Debezium Server's HTTP sink (`debezium.sink.type=http`), as a Fastify
 * plugin: `POST <path>` with one event, or an array of events, as JSON. The answer is 200 with the
 * ingest outcome once the events are durable; malformed events are dead-lettered and still
 * answered 200, since a sender retrying them would never get past them. Any other answer
 * (401, 5xx) makes the sink retry, which the `(lsn, table, key)` dedup makes safe.
 *
 * @example
 * ```ts
 * const app = Fastify();
 * await app.register(debeziumHttp, { ingest: createDebeziumIngest({ ... }), token: process.env.CDC_TOKEN! });
 * ```
 */
export const debeziumHttp: FastifyPluginAsync<DebeziumHttpOptions> = async (app, options) => {
  const path = options.path ?? '/debezium';
  if (!options.token) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      'debeziumHttp needs a token; pass { token } (a long random secret)',
    );
  }
  const expected = digest(options.token);
  app.post(path, { bodyLimit: 16 * 1024 * 1024 }, async (request, reply) => {
    const header = request.headers.authorization ?? '';
    const presented = header.startsWith('Bearer ') ? header.slice(7) : '';
    if (!presented || !timingSafeEqual(digest(presented), expected)) {
      const refused = new TidemarkError(
        'TM_UNAUTHENTICATED',
        'send the token the Debezium endpoint was configured with as "Authorization: Bearer <token>"',
      );
      return reply.code(401).type(problemMediaType).send(problemOf(refused));
    }
    const body: unknown = request.body;
    return options.ingest.ingest(Array.isArray(body) ? body : [body ?? null]);
  });
};
