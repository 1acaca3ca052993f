import { readFile } from 'node:fs/promises';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { TidemarkError } from '../errors.js';
import { problemMediaType, problemOf } from '../pull/problem.js';
import type { Db } from '../store/db.js';
import type { Topology } from '../topology/model.js';
import { badgeSummary } from './badge/summary.js';
import { createLedger } from './ledger.js';
import { createLedgerWaiter, watchLedger, type WaitTarget } from './wait.js';

export interface LedgerHttpOptions {
  /** The authority's database and schema (its ledger). */
  readonly db: Db;
  readonly schema?: string;
  readonly topology?: Topology;
  /** Longest long-poll a client may ask for (default 30 s); longer asks get 400 naming it. */
  readonly maxWaitMs?: number;
  /** Comment lines on idle event streams, so proxies keep them open (default 15 s). */
  readonly heartbeatMs?: number;
}

/** `5s`, `1500ms`, `2m` or a bare number of milliseconds. */
function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!match) return undefined;
  const n = Number(match[1]);
  return Math.round(match[2] === 's' ? n * 1_000 : match[2] === 'm' ? n * 60_000 : n);
}

function sendProblem(
  reply: FastifyReply,
  error: unknown,
  instance: string,
  extensions?: Record<string, unknown>,
) {
  const problem = problemOf(error, { instance, ...(extensions ? { extensions } : {}) });
  return reply.code(problem.status).type(problemMediaType).send(JSON.stringify(problem));
}

const badgeFile = new URL('./badge/tidemark-status.js', import.meta.url);

/**
 * The ledger over HTTP for UIs and other services:
 * - `GET /api/entities/:type/:id/status[?waitFor=applied@billing|decision=send-letter&version=3&timeout=5s]`
 *   answers the entity's status, after waiting (long-poll) when asked to;
 * - `GET /api/entities/:type/:id/events[?decision=…]` streams its status as Server-Sent Events;
 * - `GET /tidemark-status.js` serves the `<tidemark-status>` badge.
 * Errors are `application/problem+json`.
 */
const plugin: FastifyPluginAsync<LedgerHttpOptions> = async (app, options) => {
  const schema = options.schema ?? 'tidemark';
  const maxWaitMs = options.maxWaitMs ?? 30_000;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const topology = options.topology;
  const ledger = createLedger({ db: options.db, schema, ...(topology ? { topology } : {}) });
  const waiter = createLedgerWaiter({
    db: options.db,
    schema,
    ...(topology ? { topology } : {}),
    maxTimeoutMs: maxWaitMs,
  });
  const streams = new Set<() => void>();
  app.addHook('preClose', async () => {
    await waiter.close();
    for (const end of [...streams]) end();
  });

  interface Params {
    type: string;
    id: string;
  }
  interface StatusQuery {
    waitFor?: string;
    decision?: string;
    version?: string;
    timeout?: string;
  }

  function waitTarget(params: Params, query: StatusQuery, signal: AbortSignal): WaitTarget | undefined {
    if (query.waitFor === undefined && query.decision === undefined) return undefined;
    const timeoutMs = query.timeout === undefined ? maxWaitMs : parseDuration(query.timeout);
    if (timeoutMs === undefined || timeoutMs <= 0) {
      throw new TidemarkError(
        'TM_INVALID_ARGUMENT',
        `timeout ${JSON.stringify(query.timeout)} is not a duration; write e.g. 5s, 1500ms or 2m (at most ${maxWaitMs} ms)`,
        { context: { timeout: query.timeout, maxWaitMs } },
      );
    }
    if (timeoutMs > maxWaitMs) {
      throw new TidemarkError(
        'TM_INVALID_ARGUMENT',
        `timeout ${query.timeout} is longer than the maximum of ${maxWaitMs} ms; ask for ${maxWaitMs / 1000}s or less and poll again`,
        { context: { timeout: query.timeout, timeoutMs, maxWaitMs } },
      );
    }
    const version = query.version === undefined ? undefined : Number(query.version);
    const base = {
      entity: { type: params.type, id: params.id },
      timeoutMs,
      signal,
      ...(version === undefined ? {} : { version }),
    };
    if (query.decision !== undefined) return { ...base, decision: query.decision };
    const [stage, context] = query.waitFor!.split('@');
    return { ...base, stage, ...(context ? { context } : {}) };
  }

  app.get<{ Params: Params; Querystring: StatusQuery }>(
    '/api/entities/:type/:id/status',
    async (request, reply) => {
      const controller = new AbortController();
      // The client went away before the answer: stop waiting and free the waiter.
      const gone = () => {
        if (!reply.raw.writableFinished) controller.abort(new Error('client disconnected'));
      };
      reply.raw.once('close', gone);
      try {
        const target = waitTarget(request.params, request.query, controller.signal);
        const outcome = target ? await waiter.waitFor(target) : undefined;
        const status = await ledger.status(request.params.type, request.params.id);
        return reply.send({
          ...(outcome ? { reached: outcome } : {}),
          badge: badgeSummary(status, request.query.decision),
          status,
        });
      } catch (error) {
        if (controller.signal.aborted) return reply;
        const missing =
          error instanceof TidemarkError && error.code === 'TM_WAIT_TIMEOUT'
            ? { missing: error.context.missing, waitedFor: error.context.waitedFor }
            : undefined;
        return sendProblem(reply, error, request.url, missing);
      } finally {
        reply.raw.off('close', gone);
      }
    },
  );

  app.get<{ Params: Params; Querystring: { decision?: string } }>(
    '/api/entities/:type/:id/events',
    async (request, reply) => {
      const { type, id } = request.params;
      const decision = request.query.decision;
      // Fail before streaming: an unknown entity or decision is a plain problem answer.
      try {
        const status = await ledger.status(type, id);
        if (decision !== undefined && !status.decisions.some((d) => d.decision === decision)) {
          if (topology) topology.decision(decision);
          throw new TidemarkError('TM_UNKNOWN_DECISION', `decision '${decision}' is not about ${type}`, {
            context: { decision, entityType: type },
          });
        }
      } catch (error) {
        return sendProblem(reply, error, request.url);
      }
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      let last = '';
      let reading = false;
      let again = false;
      let ended = false;
      const push = async (): Promise<void> => {
        if (reading) {
          again = true;
          return;
        }
        reading = true;
        try {
          do {
            again = false;
            const status = await ledger.status(type, id);
            const data = JSON.stringify({ badge: badgeSummary(status, decision), status });
            if (data !== last && !ended) {
              last = data;
              res.write(`event: status\ndata: ${data}\n\n`);
            }
          } while (again && !ended);
        } catch (error) {
          if (!ended) res.write(`event: problem\ndata: ${JSON.stringify(problemOf(error))}\n\n`);
        } finally {
          reading = false;
        }
      };
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), heartbeatMs);
      let stop: (() => void) | undefined;
      const end = () => {
        if (ended) return;
        ended = true;
        clearInterval(heartbeat);
        streams.delete(end);
        stop?.();
        res.end();
      };
      streams.add(end);
      res.once('close', end);
      try {
        stop = await watchLedger(options.db, schema, { type, id }, () => void push());
        if (ended) stop();
      } catch (error) {
        res.write(`event: problem\ndata: ${JSON.stringify(problemOf(error))}\n\n`);
        end();
        return;
      }
      await push();
    },
  );

  app.get('/tidemark-status.js', async (_request, reply) => {
    return reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send(await readFile(badgeFile, 'utf8'));
  });

  activity.set(app, () => ({ waiting: waiter.waiting, streams: streams.size }));
};

const activity = new WeakMap<FastifyInstance, () => { waiting: number; streams: number }>();

/**
 * Long-polls waiting and event streams open on `app` right now (health pages, and tests that
 * check a client going away frees its wait).
 */
export function ledgerHttpActivity(app: FastifyInstance): { waiting: number; streams: number } {
  return activity.get(app)?.() ?? { waiting: 0, streams: 0 };
}

/** The plugin; mount it with `app.register(ledgerHttp, { db, schema, topology })`. */
export const ledgerHttp = fastifyPlugin(plugin, { name: 'tidemark-ledger-http' });
