import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import swagger from '@fastify/swagger';
import { collectDefaultMetrics } from 'prom-client';
import { TidemarkError } from '../errors.js';
import type { Envelope } from '../envelope/types.js';
import { createLedger, type Ledger } from '../ledger/index.js';
import {
  createMetrics,
  registerDeadLetterCollector,
  registerGroupLagCollector,
  registerRelayCollector,
  type Metrics,
  type Unregister,
} from '../obs/index.js';
import type { RelayStatus } from '../relay/relay.js';
import type { Db } from '../store/db.js';
import { quoteIdentifier } from '../store/identifier.js';
import type { Topology } from '../topology/model.js';
import { createAuthenticator, requireRole, type TokenConfig } from './auth.js';
import type { RouteAccess, ServerContext } from './context.js';
import { dashboardRoutes } from './dashboard.js';
import { problemFor, problemMediaType, requestErrorOf } from './problems.js';
import {
  checkpointRelays,
  lagHistory,
  postgresLogLag,
  type GroupLagReader,
  type LagSample,
  type RelayView,
} from './progress.js';
import type { FieldAllowLists } from './redact.js';
import { auditRoutes } from './routes/audit.js';
import { deadLetterRoutes } from './routes/dead-letters.js';
import { estateRoutes } from './routes/estate.js';
import { ledgerHttp } from '../ledger/http.js';
import { operationRoutes } from './routes/operations.js';
import { reconciliationRoutes } from './routes/reconciliation.js';
import { systemRoutes } from './routes/system.js';
import { consumerDirectory, type ConsumerStore } from './stores.js';
import { diagnoseConsumer, type RunningConsumer } from './consumer-progress.js';
import { consumerProgressRoutes } from './routes/consumer-progress.js';
import { defaultStallAfterMs } from '../obs/stall.js';
import { assertWellFormed } from './well-formed.js';

export interface ServerOptions {
  /** The authority's database: outbox, relay checkpoints, ledger (and, by default, everything). */
  readonly db: Db;
  readonly schema?: string;
  readonly topology?: Topology;
  /** Bearer tokens, kept as SHA-256 hashes. At least one. */
  readonly tokens: readonly TokenConfig[];
  /**
   * The consumers whose dead letters and operation requests the server reads and acts on, each
   * in its own database/schema. Default: every consumer context of the topology's flows, in
   * `db`/`schema`.
   */
  readonly consumers?: readonly ConsumerStore[];
  /**
   * Running consumers whose progress (batches in hand, failing retries) the server reports, with
   * the stall verdict of `consumerStall`; default: what the database shows (postgres-log only).
   */
  readonly runningConsumers?: readonly RunningConsumer[];
  /** No event finished for this long while having work: stalled (default 60 s, as the metric). */
  readonly stallAfterMs?: number;
  /** Running relays to report; default: read relay checkpoints in `db`/`schema`. */
  readonly relays?: readonly RelayView[];
  /** Consumer-group lag; default: the postgres-log backbone in `db`/`schema`. `false`: none. */
  readonly groupLag?: GroupLagReader | false;
  /** Default: `createLedger({ db, schema, topology })`. */
  readonly ledger?: Pick<Ledger, 'status' | 'timeline' | 'ready'>;
  /** Default: new metrics with collectors for the relays, dead letters and group lag. */
  readonly metrics?: Metrics;
  /** What viewers may see of dead-letter payloads: consumer → entity type → fields. */
  readonly fields?: FieldAllowLists;
  /** Check of an edited dead-letter envelope (e.g. its JSON Schema); throw to refuse. */
  readonly validateEdit?: (envelope: Envelope) => void;
  /** Largest accepted request body in bytes (default 1 MiB). */
  readonly bodyLimit?: number;
  /** Directory of the built dashboard; default: the one shipped in the package. `false`: none. */
  readonly dashboardDir?: string | false;
  /** Lag sampling for the dashboard's charts (default every 5 s, last 720 samples). 0: off. */
  readonly lagSampleMs?: number;
  readonly lagSamples?: number;
  /** Fastify's logger option (default off). */
  readonly logger?: boolean | { level: string };
}

export interface ControlPlane {
  readonly app: FastifyInstance;
  /** Starts listening; resolves to the base URL, e.g. http://127.0.0.1:7070. */
  listen(options?: { host?: string; port?: number }): Promise<string>;
  close(): Promise<void>;
}

const positive = (name: string, value: number | undefined, fallback: number, allowZero = false): number => {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < (allowZero ? 0 : 1)) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `${name} must be a whole number ≥ ${allowZero ? 0 : 1}, got ${JSON.stringify(value)}`,
    );
  }
  return v;
};

/**
 * Builds the control plane: a Fastify app with the HTTP API, `/metrics`, `/openapi.json` and the
 * dashboard. Every route declares its schema and its access (public, viewer, operator); every
 * error is `application/problem+json`.
 *
 * @example
 * const server = await createServer({ db, topology, tokens: [{ name: 'jane', role: 'operator', sha256 }] });
 * console.log(await server.listen({ port: 7070 }));
 */
export async function createServer(options: ServerOptions): Promise<ControlPlane> {
  const schema = options.schema ?? 'tidemark';
  const quotedSchema = quoteIdentifier(schema, 'schema');
  const authenticate = createAuthenticator(options.tokens);
  const bodyLimit = positive('bodyLimit', options.bodyLimit, 1024 * 1024);
  const { db, topology } = options;

  const consumerStores =
    options.consumers ??
    [...new Set((topology?.flows ?? []).map((f) => f.consumer))].map((name) => ({ name }));
  const consumers = consumerDirectory(consumerStores, { db, schema }, options.validateEdit);
  const relays = options.relays ? async () => options.relays! : checkpointRelays(db, schema);
  const groupLag = options.groupLag === false ? undefined : (options.groupLag ?? postgresLogLag(db, schema));
  const running = new Map<string, RunningConsumer>();
  for (const consumer of options.runningConsumers ?? []) {
    if (typeof consumer?.name !== 'string' || consumer.name === '' || running.has(consumer.name)) {
      throw new TidemarkError(
        'TM_INVALID_ARGUMENT',
        `runningConsumers: each needs a distinct non-empty name, got ${JSON.stringify(consumer?.name)}`,
      );
    }
    running.set(consumer.name, consumer);
  }
  const stallAfterMs = positive('stallAfterMs', options.stallAfterMs, defaultStallAfterMs);
  const diagnoseConsumers = async (only?: string) => {
    const names = [
      ...new Set([...(topology?.flows ?? []).map((f) => f.consumer), ...consumers.names, ...running.keys()]),
    ];
    if (only !== undefined && !names.includes(only)) consumers.get(only);
    return Promise.all(
      (only === undefined ? names : [only]).map((name) =>
        diagnoseConsumer({
          name,
          running: running.get(name),
          store: consumers.names.includes(name) ? consumers.get(name) : undefined,
          groupLag,
          // Only the embedded postgres-log keeps its offsets and heartbeats where the server reads.
          log: options.groupLag === undefined ? { db, quotedSchema } : undefined,
          stallAfterMs,
          memberTimeoutMs: 10_000,
        }),
      ),
    );
  };
  const ledger = options.ledger ?? createLedger({ db, schema, ...(topology ? { topology } : {}) });

  const ownMetrics = !options.metrics;
  const metrics = options.metrics ?? createMetrics();
  if (!metrics.registry.getSingleMetric('process_cpu_user_seconds_total')) {
    collectDefaultMetrics({ register: metrics.registry });
    // prom-client names three gauges *_total, which Prometheus reserves for counters (promtool
    // rejects them); each is the sum of its per-type sibling without the suffix, so drop them.
    for (const misnamed of [
      'nodejs_active_handles_total',
      'nodejs_active_requests_total',
      'nodejs_active_resources_total',
    ]) {
      metrics.registry.removeSingleMetric(misnamed);
    }
  }
  const unregister: Unregister[] = [];
  const watchedRelays = new Set<string>();
  /** Adds a collector for each relay not watched yet: a relay may first run after the server starts. */
  const watchRelays = async () => {
    if (!ownMetrics) return;
    for (const relay of await relays()) {
      if (watchedRelays.has(relay.name)) continue;
      watchedRelays.add(relay.name);
      // The collector reads only backlog, relayed and the oldest open transaction.
      unregister.push(
        registerRelayCollector(metrics, {
          name: relay.name,
          status: async () => (await relay.status()) as RelayStatus,
        }),
      );
    }
  };
  await watchRelays();
  if (ownMetrics) {
    for (const place of consumers.all()) {
      unregister.push(
        registerDeadLetterCollector(metrics, {
          // Every served consumer reports, 0 included, so alerts see it from the start.
          counts: async () => {
            const mine = (await place.deadLetters.counts()).find((c) => c.consumer === place.name);
            return [mine ?? { consumer: place.name, open: 0, parked: 0, parkedKeys: 0 }];
          },
        }),
      );
      if (groupLag)
        unregister.push(
          registerGroupLagCollector(metrics, { groupLag: async (g) => [...(await groupLag(g))] }, place.name),
        );
    }
  }

  const sampleLag = async (): Promise<LagSample> => {
    const statuses = await Promise.all((await relays()).map((r) => r.status()));
    const perConsumer: Record<string, number> = {};
    if (groupLag) {
      for (const name of consumers.names) {
        perConsumer[name] = (await groupLag(name)).reduce((sum, p) => sum + p.pending, 0);
      }
    }
    return {
      at: new Date().toISOString(),
      backlog: statuses.reduce((sum, s) => sum + s.backlog, 0),
      consumers: perConsumer,
    };
  };
  const history = lagHistory(
    sampleLag,
    positive('lagSampleMs', options.lagSampleMs, 5_000, true),
    positive('lagSamples', options.lagSamples, 720),
  );

  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit,
    // Bad requests are answered, not crashed on: a slow or stuck client is cut off too.
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    return503OnClosing: true,
    // Errors raised before routing (a URL that is not valid UTF-8) get the same problem documents.
    frameworkErrors: (error, request, reply) => {
      const problem = problemFor(
        new TidemarkError(
          'TM_REQUEST_INVALID',
          `the request URL cannot be read: ${error.message.slice(0, 200)}`,
        ),
        '',
      );
      void request;
      const raw = reply as unknown as FastifyReply;
      void raw.code(problem.status).type(problemMediaType).send(problem);
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
  });
  app.decorateRequest('principal', null);
  // The API speaks JSON only; anything else is a 415, not a string handed to the schemas.
  app.removeContentTypeParser('text/plain');

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Tidemark control plane',
        version: '1',
        description:
          'Topology, lag, the maturity ledger, dead letters and replays. Errors are application/problem+json.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  app.setErrorHandler((error, request, reply) => {
    const problem = problemFor(error, request.url.slice(0, 500));
    if (problem.status >= 500 && !requestErrorOf(error))
      request.log.error({ err: error }, 'control plane error');
    if (problem.status === 401) void reply.header('www-authenticate', 'Bearer realm="tidemark"');
    return reply.code(problem.status).type(problemMediaType).send(problem);
  });
  app.setNotFoundHandler((request, reply) => {
    const problem = problemFor(
      new TidemarkError(
        'TM_ROUTE_NOT_FOUND',
        `no endpoint ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}; /openapi.json lists them`,
      ),
      request.url.slice(0, 500),
    );
    return reply.code(404).type(problemMediaType).send(problem);
  });

  app.addHook('onRequest', async (request) => {
    const access = (request.routeOptions.config as Partial<RouteAccess> | undefined)?.access ?? 'public';
    if (access === 'public') return;
    const principal = authenticate(request.headers.authorization);
    request.principal = principal;
    requireRole(principal, access, `${request.method} ${request.routeOptions.url ?? ''}`);
  });
  // PostgreSQL refuses NUL characters and lone surrogates in text and jsonb: refuse them first.
  app.addHook('preValidation', async (request) => {
    assertWellFormed(request.params, 'path');
    assertWellFormed(request.query, 'query');
    assertWellFormed(request.body, 'body');
  });

  const ctx: ServerContext = {
    db,
    schema,
    quotedSchema,
    topology,
    consumers,
    ledger,
    relays,
    groupLag,
    metrics,
    fields: options.fields,
    lagSamples: history.samples,
    beforeScrape: watchRelays,
    sampleLag,
    diagnoseConsumers,
  };
  systemRoutes(app, ctx);
  estateRoutes(app, ctx);
  deadLetterRoutes(app, ctx);
  operationRoutes(app, ctx);
  auditRoutes(app, ctx);
  reconciliationRoutes(app, ctx);
  consumerProgressRoutes(app, ctx);
  // Long-poll status (?waitFor=applied@billing) and the SSE stream of stage changes, for viewers.
  await app.register(async (scope) => {
    scope.addHook('onRoute', (route) => {
      const script = route.url === '/tidemark-status.js';
      route.config = {
        ...(route.config as object),
        access: script ? 'public' : 'viewer',
      } as typeof route.config;
    });
    await scope.register(ledgerHttp, { db, schema, ...(topology ? { topology } : {}) });
  });
  app.get('/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () =>
    app.swagger(),
  );
  if (options.dashboardDir !== false) await dashboardRoutes(app, options.dashboardDir);

  await app.ready();
  history.start();

  let closed = false;
  return {
    app,
    async listen(listenOptions = {}) {
      const host = listenOptions.host ?? '127.0.0.1';
      await app.listen({ host, port: listenOptions.port ?? 0 });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : listenOptions.port;
      return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    },
    async close() {
      if (closed) return;
      closed = true;
      await history.stop();
      for (const stop of unregister) stop();
      await app.close();
    },
  };
}
