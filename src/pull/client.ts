// opossum rather than a hand-written breaker: it is the circuit breaker most used in Node
// (years in production, a small dependency tree), it implements the parts that are easy to get
// subtly wrong — a rolling statistics window in buckets, a volume threshold so one early failure
// does not trip it, exactly one trial call in half-open — and it emits events (open, halfOpen,
// close, reject) we can turn into metrics later. We keep the request timeout (AbortSignal), the
// retries and the bulkhead queue ourselves: opossum's timeout does not cancel the request and its
// `capacity` rejects instead of queueing.
import CircuitBreaker from 'opossum';
import { TidemarkError, isTidemarkError } from '../errors.js';
import { backoffDelay, type BackoffOptions } from '../util/backoff.js';
import { bulkheadFull, createBulkhead } from './bulkhead.js';
import {
  badResponse,
  checkBatch,
  checkEntity,
  isVersion,
  parseJson,
  type AnswerContext,
} from './response.js';
import { cacheServes, flightServes, type Read, type ReadOptions, type ReadTier } from './tiers.js';
import { consumerHeader, maxBatchIds, type BehindEntity, type EntityDocument } from './wire.js';

/** Time source of the client's cache and tiers; inject one to test staleness without waiting. */
export interface Clock {
  now(): number;
}

/** Breaker settings passed to opossum (see its docs); timeouts are the client's `timeoutMs`. */
export type PullBreakerOptions = Pick<
  CircuitBreaker.Options,
  | 'resetTimeout'
  | 'errorThresholdPercentage'
  | 'volumeThreshold'
  | 'rollingCountTimeout'
  | 'rollingCountBuckets'
  | 'allowWarmUp'
  | 'name'
>;

export interface PullClientOptions {
  /** The authority's read API, e.g. `http://profile.internal:8080` (a path prefix is kept). */
  readonly baseUrl: string;
  /** This consumer's name, sent as `Tidemark-Consumer` (the authority's field projection). */
  readonly consumer: string;
  /** Per request attempt, including reading the body (default 2,000 ms). */
  readonly timeoutMs?: number;
  /**
   * Extra attempts after a network error, a timeout, a 5xx answer or an authority still below
   * `minVersion` (409), with exponential backoff and full jitter (default 2).
   */
  readonly retries?: number;
  /** Backoff between attempts (default base 25 ms, max 1,000 ms). */
  readonly backoff?: BackoffOptions;
  /** Circuit breaker for this authority (defaults: resetTimeout 5 s, 50 %, volumeThreshold 5). */
  readonly breaker?: PullBreakerOptions;
  /** Requests to the authority at the same time (default 16). */
  readonly maxConcurrent?: number;
  /** Requests waiting for a slot; beyond, calls fail at once (default 256). */
  readonly maxQueued?: number;
  readonly cache?: {
    /** How long a copy serves `eventual` reads, and the default bound of `bounded` ones (default 5,000 ms). */
    readonly ttlMs?: number;
    /** Copies kept, least recently used dropped first (default 10,000). */
    readonly maxEntries?: number;
  };
  /**
   * Concurrent `get`s of the same (type, id, minVersion) share one request (default true).
   * `false` sends one request per call (benchmarks comparing the two).
   */
  readonly coalesce?: boolean;
  readonly clock?: Clock;
  /** Source of jitter, for reproducible tests (default Math.random). */
  readonly random?: () => number;
}

/** An entity as the client hands it out; frozen (it may be shared with other callers). */
export interface PulledEntity<TState = unknown> {
  readonly type: string;
  readonly id: string;
  readonly version: number;
  readonly state: TState;
  readonly updatedAt: string | undefined;
  /** Clock time the request that fetched (or last confirmed) this copy was sent. */
  readonly fetchedAt: number;
  /** `authority` if this call fetched or revalidated it, `cache` if a cached copy served it. */
  readonly source: 'authority' | 'cache';
}

export interface BatchResult<TState = unknown> {
  readonly entities: readonly PulledEntity<TState>[];
  readonly missing: readonly string[];
  readonly behind: readonly BehindEntity[];
}

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface PullClientStats {
  readonly breaker: BreakerState;
  /** Requests holding a bulkhead slot. */
  readonly active: number;
  readonly queued: number;
  readonly cached: number;
  /** Distinct reads in flight (coalesced callers share one). */
  readonly inFlight: number;
}

/** Reads entities from one authority's read API. */
export interface PullClient {
  readonly baseUrl: string;
  /**
   * Reads one entity in the given tier (default `strong`). Concurrent calls for the same
   * (type, id, minVersion) share one request. Throws `TM_ENTITY_NOT_FOUND`,
   * `TM_VERSION_NOT_REACHED` (retries spent), `TM_AUTHORITY_UNAVAILABLE` (network, 5xx, open
   * breaker, full bulkhead), `TM_CONSUMER_NOT_ALLOWED`, or `TM_AUTHORITY_BAD_RESPONSE`.
   */
  get<TState = unknown>(type: string, id: string, options?: ReadOptions): Promise<PulledEntity<TState>>;
  /** Reads many entities of one type from the authority (strong), 100 per request. */
  batchGet<TState = unknown>(
    type: string,
    ids: readonly string[],
    options?: { minVersions?: Readonly<Record<string, number>> },
  ): Promise<BatchResult<TState>>;
  /** The cached copy if it meets the bound, without any request. */
  cached<TState = unknown>(
    type: string,
    id: string,
    options?: { minVersion?: number; maxStalenessMs?: number },
  ): PulledEntity<TState> | undefined;
  /** Forgets the cached copy of one entity, or of every entity of `type`. */
  invalidate(type: string, id?: string): void;
  stats(): PullClientStats;
  /** Stops the breaker's timers and fails queued requests with `TM_CLOSED`; later calls too. */
  close(): void;
}

interface CacheEntry {
  readonly type: string;
  readonly id: string;
  readonly version: number;
  readonly state: unknown;
  readonly updatedAt: string | undefined;
  readonly fetchedAt: number;
}

type GetAnswer =
  | { readonly kind: 'entity'; readonly document: EntityDocument; readonly sentAt: number }
  | { readonly kind: 'not-modified'; readonly sentAt: number };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function invalidOption(path: string, expected: string, actual: unknown): TidemarkError {
  return new TidemarkError(
    'TM_INVALID_ARGUMENT',
    `createPullClient option ${path}: expected ${expected}, got ${JSON.stringify(actual) ?? String(actual)}`,
    { context: { option: path } },
  );
}

function count(path: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min)
    throw invalidOption(path, `an integer from ${min}`, value);
  return value;
}

function argument(what: string, expected: string, actual: unknown): TidemarkError {
  return new TidemarkError(
    'TM_INVALID_ARGUMENT',
    `pull client: ${what} must be ${expected}, got ${JSON.stringify(actual) ?? String(actual)}`,
    { context: { argument: what } },
  );
}

const tiers: readonly ReadTier[] = ['strong', 'bounded', 'eventual'];

/**
 * A client of one authority's read API (see `authorityReadApi`) with a timeout per attempt,
 * retries with full jitter, a circuit breaker, a bulkhead, request coalescing and a cache that
 * serves the `bounded` and `eventual` tiers.
 *
 * @example
 * ```ts
 * const profile = createPullClient({ baseUrl: 'http://profile:8080', consumer: 'communications' });
 * const customer = await profile.get('customer', 'c-1', { tier: 'bounded', maxStalenessMs: 500 });
 * ```
 */
export function createPullClient(options: PullClientOptions): PullClient {
  let base: URL;
  try {
    base = new URL(options.baseUrl);
  } catch (cause) {
    throw Object.assign(invalidOption('baseUrl', 'an http(s) URL', options.baseUrl), { cause });
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:')
    throw invalidOption('baseUrl', 'an http(s) URL', options.baseUrl);
  const root = base.href.replace(/\/+$/, '');
  if (
    typeof options.consumer !== 'string' ||
    options.consumer.trim() === '' ||
    /[\r\n]/.test(options.consumer)
  )
    throw invalidOption('consumer', 'a consumer name', options.consumer);
  const consumer = options.consumer.trim();
  const timeoutMs = count('timeoutMs', options.timeoutMs, 2_000, 1);
  const retries = count('retries', options.retries, 2, 0);
  const maxConcurrent = count('maxConcurrent', options.maxConcurrent, 16, 1);
  const maxQueued = count('maxQueued', options.maxQueued, 256, 0);
  const ttlMs = count('cache.ttlMs', options.cache?.ttlMs, 5_000, 0);
  const maxEntries = count('cache.maxEntries', options.cache?.maxEntries, 10_000, 0);
  const backoff: BackoffOptions = { baseDelayMs: 25, maxDelayMs: 1_000, ...options.backoff };
  const clock = options.clock ?? { now: () => Date.now() };
  const random = options.random ?? Math.random;
  if (options.coalesce !== undefined && typeof options.coalesce !== 'boolean')
    throw invalidOption('coalesce', 'true or false', options.coalesce);
  const coalesce = options.coalesce ?? true;

  const cache = new Map<string, CacheEntry>();
  const inFlight = new Map<string, { readonly promise: Promise<PulledEntity>; readonly startedAt: number }>();
  const bulkhead = createBulkhead({
    maxConcurrent,
    maxQueued,
    full: () => bulkheadFull(root, maxConcurrent, maxQueued),
  });
  // One breaker per client, and a client talks to one authority: a failing authority opens
  // only its own circuit. Only unavailability counts as a failure; a 404 or a refused argument
  // is an answer, and proves the authority is up.
  const breaker = new CircuitBreaker<[() => Promise<unknown>], unknown>((attempt) => attempt(), {
    resetTimeout: 5_000,
    errorThresholdPercentage: 50,
    volumeThreshold: 5,
    ...options.breaker,
    name: options.breaker?.name ?? `pull:${root}`,
    timeout: false,
    errorFilter: (error: unknown) => !isTidemarkError(error, 'TM_AUTHORITY_UNAVAILABLE'),
  });
  let closed = false;

  const entityKey = (type: string, id: string) => `${type}\u0000${id}`;

  function remember(entry: CacheEntry): CacheEntry {
    if (maxEntries === 0) return entry;
    const key = entityKey(entry.type, entry.id);
    const old = cache.get(key);
    // Never replace a newer copy with an older one (an authority replica lagging behind).
    if (old && old.version > entry.version) return old;
    cache.delete(key);
    cache.set(key, entry);
    while (cache.size > maxEntries) cache.delete(cache.keys().next().value as string);
    return entry;
  }

  const pulled = <TState>(entry: CacheEntry, source: 'authority' | 'cache'): PulledEntity<TState> =>
    Object.freeze({
      type: entry.type,
      id: entry.id,
      version: entry.version,
      state: entry.state as TState,
      updatedAt: entry.updatedAt,
      fetchedAt: entry.fetchedAt,
      source,
    });

  function checkOpen(): void {
    if (closed) {
      throw new TidemarkError('TM_CLOSED', `pull client for ${root} is closed; create a new one`, {
        context: { authority: root },
      });
    }
  }

  function unavailable(what: string, context: Record<string, unknown>, cause?: unknown): TidemarkError {
    return new TidemarkError(
      'TM_AUTHORITY_UNAVAILABLE',
      `authority ${root} ${what}; the read can be retried once it is back`,
      { cause, context: { authority: root, ...context } },
    );
  }

  /** One HTTP exchange: sends, reads the whole body within the timeout, returns status and text. */
  async function exchange(
    path: string,
    init: { method: 'GET' | 'POST'; headers?: Record<string, string>; body?: string },
    subject: Record<string, unknown>,
  ): Promise<{ status: number; text: string; sentAt: number }> {
    const sentAt = clock.now();
    const url = `${root}${path}`;
    try {
      const response = await fetch(url, {
        method: init.method,
        headers: { accept: 'application/json', [consumerHeader]: consumer, ...init.headers },
        body: init.body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      return { status: response.status, text: await response.text(), sentAt };
    } catch (error) {
      const timedOut =
        error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      const code = (error as { cause?: { code?: unknown } }).cause?.code;
      throw unavailable(
        timedOut
          ? `did not answer within ${timeoutMs} ms`
          : `could not be reached (${typeof code === 'string' ? code : error instanceof Error ? error.message : String(error)})`,
        { ...subject, reason: timedOut ? 'timeout' : 'network' },
        error,
      );
    }
  }

  /** Turns an answer other than 200/304 into the matching typed error. */
  function refusal(
    status: number,
    text: string,
    at: AnswerContext & { id?: string },
    minVersion?: number,
  ): TidemarkError {
    let problem: Record<string, unknown> = {};
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed !== null && typeof parsed === 'object') problem = parsed as Record<string, unknown>;
    } catch {
      // Not a problem document: the status alone decides.
    }
    const detail = typeof problem.detail === 'string' ? `: ${problem.detail}` : '';
    const context = { authority: root, type: at.type, ...(at.id === undefined ? {} : { id: at.id }), status };
    if (status >= 500 || status === 429)
      return unavailable(`answered HTTP ${status}${detail}`, { ...context, reason: 'status' });
    switch (status) {
      case 404:
        return new TidemarkError(
          'TM_ENTITY_NOT_FOUND',
          `authority ${root} has no ${at.type}${at.id === undefined ? '' : ` '${at.id}'`}${detail}`,
          { context },
        );
      case 409:
        if (problem.code === 'TM_VERSION_NOT_REACHED' && minVersion !== undefined) {
          const currentVersion = isVersion(problem.currentVersion) ? problem.currentVersion : undefined;
          return new TidemarkError(
            'TM_VERSION_NOT_REACHED',
            `authority ${root} has ${at.type} '${at.id}' at version ${currentVersion ?? '?'}, below minVersion ${minVersion}; ` +
              'it may not have committed or replicated the change yet: retry later',
            { context: { ...context, currentVersion, minVersion } },
          );
        }
        break;
      case 403:
        return new TidemarkError(
          'TM_CONSUMER_NOT_ALLOWED',
          `authority ${root} refused consumer '${consumer}'${detail}`,
          { context: { ...context, consumer } },
        );
      case 400:
        return new TidemarkError('TM_INVALID_ARGUMENT', `authority ${root} refused the request${detail}`, {
          context,
        });
    }
    return badResponse({ ...at, status }, `unexpected HTTP status ${status}`);
  }

  /** Passes one attempt through the breaker; an open breaker fails fast. */
  async function throughBreaker<T>(attempt: () => Promise<T>, subject: Record<string, unknown>): Promise<T> {
    try {
      return (await breaker.fire(attempt)) as T;
    } catch (error) {
      if ((error as { code?: unknown }).code === 'EOPENBREAKER') {
        throw unavailable(
          'failed too often recently: its circuit breaker is open and calls fail fast until a trial call succeeds',
          { ...subject, reason: 'breaker-open' },
          error,
        );
      }
      throw error;
    }
  }

  /**
   * The resilient request: a bulkhead slot for all its attempts, each attempt through the
   * breaker, retries with full jitter for what may pass (unavailable, version not yet reached).
   */
  function resilient<T>(attempt: () => Promise<T>, subject: Record<string, unknown>): Promise<T> {
    return bulkhead.run(async () => {
      for (let n = 1; ; n++) {
        try {
          return await throughBreaker(attempt, subject);
        } catch (error) {
          const passing =
            isTidemarkError(error, 'TM_VERSION_NOT_REACHED') ||
            (isTidemarkError(error, 'TM_AUTHORITY_UNAVAILABLE') && error.context.reason !== 'breaker-open');
          if (!passing || n > retries || closed) throw error;
          await sleep(backoffDelay(n, backoff, random));
        }
      }
    });
  }

  async function attemptGet(type: string, id: string, minVersion: number | undefined): Promise<GetAnswer> {
    const known = cache.get(entityKey(type, id));
    const etag = known && known.version >= (minVersion ?? 0) ? `"${known.version}"` : undefined;
    const query = minVersion === undefined ? '' : `?minVersion=${minVersion}`;
    const { status, text, sentAt } = await exchange(
      `/entities/${encodeURIComponent(type)}/${encodeURIComponent(id)}${query}`,
      { method: 'GET', headers: etag ? { 'if-none-match': etag } : {} },
      { type, id },
    );
    const at = { authority: root, type, id, status };
    if (status === 200) {
      const document = checkEntity(parseJson(text, at), { type, id, minVersion }, at);
      return { kind: 'entity', document, sentAt };
    }
    if (status === 304) {
      if (!etag) throw badResponse(at, 'HTTP 304 to a request without If-None-Match');
      return { kind: 'not-modified', sentAt };
    }
    throw refusal(status, text, at, minVersion);
  }

  async function fetchOne(type: string, id: string, minVersion: number | undefined): Promise<PulledEntity> {
    try {
      const answer = await resilient(() => attemptGet(type, id, minVersion), { type, id });
      const key = entityKey(type, id);
      if (answer.kind === 'not-modified') {
        const known = cache.get(key);
        if (!known)
          throw badResponse({ authority: root, type, id, status: 304 }, 'HTTP 304 but no copy is cached');
        return pulled(
          remember({ ...known, fetchedAt: Math.max(known.fetchedAt, answer.sentAt) }),
          'authority',
        );
      }
      const { document } = answer;
      const entry: CacheEntry = {
        type,
        id,
        version: document.version,
        state: deepFreeze(document.state),
        updatedAt: document.updatedAt,
        fetchedAt: answer.sentAt,
      };
      remember(entry);
      return pulled(entry, 'authority');
    } catch (error) {
      if (isTidemarkError(error, 'TM_ENTITY_NOT_FOUND')) cache.delete(entityKey(type, id));
      throw error;
    }
  }

  function readOf(options: ReadOptions): Read {
    const tier = options.tier ?? 'strong';
    if (!tiers.includes(tier)) throw argument('tier', `one of ${tiers.join(', ')}`, tier);
    if (options.minVersion !== undefined && !isVersion(options.minVersion))
      throw argument('minVersion', 'an integer from 1', options.minVersion);
    const maxStalenessMs = options.maxStalenessMs ?? ttlMs;
    if (typeof maxStalenessMs !== 'number' || !(maxStalenessMs >= 0))
      throw argument('maxStalenessMs', 'a number of ms from 0', maxStalenessMs);
    return { tier, maxStalenessMs, minVersion: options.minVersion };
  }

  function checkName(what: string, value: unknown): asserts value is string {
    if (typeof value !== 'string' || value === '') throw argument(what, 'a non-empty string', value);
  }

  return {
    baseUrl: root,

    get<TState>(type: string, id: string, options: ReadOptions = {}): Promise<PulledEntity<TState>> {
      try {
        checkOpen();
        checkName('type', type);
        checkName('id', id);
        const read = readOf(options);
        const now = clock.now();
        const key = entityKey(type, id);
        const copy = cache.get(key);
        if (copy && cacheServes(copy, read, now, ttlMs))
          return Promise.resolve(pulled<TState>(copy, 'cache'));
        if (!coalesce) return fetchOne(type, id, read.minVersion) as Promise<PulledEntity<TState>>;
        const flightKey = `${key}\u0000${read.minVersion ?? ''}`;
        const flight = inFlight.get(flightKey);
        if (flight && flightServes(flight.startedAt, read, now))
          return flight.promise as Promise<PulledEntity<TState>>;
        const promise: Promise<PulledEntity> = fetchOne(type, id, read.minVersion).finally(() => {
          if (inFlight.get(flightKey)?.promise === promise) inFlight.delete(flightKey);
        });
        inFlight.set(flightKey, { promise, startedAt: now });
        return promise as Promise<PulledEntity<TState>>;
      } catch (error) {
        return Promise.reject(error as Error);
      }
    },

    async batchGet<TState>(
      type: string,
      ids: readonly string[],
      options: { minVersions?: Readonly<Record<string, number>> } = {},
    ): Promise<BatchResult<TState>> {
      checkOpen();
      checkName('type', type);
      if (!Array.isArray(ids)) throw argument('ids', 'an array of ids', ids);
      ids.forEach((id, i) => checkName(`ids[${i}]`, id));
      const minVersions = options.minVersions ?? {};
      for (const [id, version] of Object.entries(minVersions)) {
        if (!ids.includes(id))
          throw argument(`minVersions.${id}`, 'the minimum version of a requested id', id);
        if (!isVersion(version)) throw argument(`minVersions.${id}`, 'an integer from 1', version);
      }
      const unique = [...new Set(ids)];
      const chunks: string[][] = [];
      for (let i = 0; i < unique.length; i += maxBatchIds) chunks.push(unique.slice(i, i + maxBatchIds));
      const answers = await Promise.all(
        chunks.map((chunk) => {
          const wanted = Object.fromEntries(
            chunk.filter((id) => minVersions[id] !== undefined).map((id) => [id, minVersions[id]!]),
          );
          return resilient(
            async () => {
              const { status, text, sentAt } = await exchange(
                `/entities/${encodeURIComponent(type)}:batchGet`,
                {
                  method: 'POST',
                  headers: { 'content-type': 'application/json' },
                  body: JSON.stringify(
                    Object.keys(wanted).length ? { ids: chunk, minVersions: wanted } : { ids: chunk },
                  ),
                },
                { type, ids: chunk.length },
              );
              const at = { authority: root, type, status };
              if (status !== 200) throw refusal(status, text, at);
              return {
                document: checkBatch(parseJson(text, at), { type, ids: chunk, minVersions: wanted }, at),
                sentAt,
              };
            },
            { type, ids: chunk.length },
          );
        }),
      );
      const entities: PulledEntity<TState>[] = [];
      const missing: string[] = [];
      const behind: BehindEntity[] = [];
      for (const { document, sentAt } of answers) {
        for (const e of document.entities) {
          const entry: CacheEntry = {
            type,
            id: e.id,
            version: e.version,
            state: deepFreeze(e.state),
            updatedAt: e.updatedAt,
            fetchedAt: sentAt,
          };
          remember(entry);
          entities.push(pulled<TState>(entry, 'authority'));
        }
        for (const id of document.missing) cache.delete(entityKey(type, id));
        missing.push(...document.missing);
        behind.push(...document.behind);
      }
      return { entities, missing, behind };
    },

    cached<TState>(
      type: string,
      id: string,
      options: { minVersion?: number; maxStalenessMs?: number } = {},
    ): PulledEntity<TState> | undefined {
      const read = readOf({ ...options, tier: 'bounded' });
      const copy = cache.get(entityKey(type, id));
      return copy && cacheServes(copy, read, clock.now(), ttlMs) ? pulled<TState>(copy, 'cache') : undefined;
    },

    invalidate(type: string, id?: string) {
      if (id !== undefined) {
        cache.delete(entityKey(type, id));
        return;
      }
      for (const [key, entry] of cache) if (entry.type === type) cache.delete(key);
    },

    stats(): PullClientStats {
      return {
        breaker: breaker.opened ? 'open' : breaker.halfOpen ? 'half-open' : 'closed',
        active: bulkhead.active,
        queued: bulkhead.queued,
        cached: cache.size,
        inFlight: inFlight.size,
      };
    },

    close() {
      if (closed) return;
      closed = true;
      breaker.shutdown();
      bulkhead.close(
        new TidemarkError(
          'TM_CLOSED',
          `pull client for ${root} was closed while this read waited for a slot`,
          {
            context: { authority: root },
          },
        ),
      );
    },
  };
}
