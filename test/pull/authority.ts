/**
 * A real authority for tests: the read API plugin on a Fastify server listening on
 * 127.0.0.1, over an in-memory map of entities. It counts what reaches it, can be slowed down,
 * made to fail, and stopped and started again on the same port (an authority going away and
 * coming back at the same address).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { authorityReadApi, type AuthorityReadApiOptions, type AuthorityRow } from '../../src/pull/index.js';

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string | string[] | undefined>;
  status?: number;
}

export interface TestAuthority {
  readonly baseUrl: string;
  readonly port: number;
  /** Requests that reached the server (answered or not). */
  readonly requests: SeenRequest[];
  /** Highest number of requests in progress at once. */
  readonly maxInProgress: number;
  /** Sets an entity's state; its version grows by one. Returns the new version. */
  write(id: string, state: unknown, type?: string): number;
  /** Sets an entity at an exact version (for version gaps and regressions). */
  put(id: string, version: number, state: unknown, type?: string): void;
  remove(id: string, type?: string): void;
  version(id: string, type?: string): number;
  /** Readers read the state when a request arrives and answer this much later (default 0). */
  delayMs: number;
  /** The next `n` requests get this status from a hook before reaching the read API. */
  failNext(n: number, status?: number): void;
  /** Called as each request arrives (after counting), before it is answered. */
  onRequest?: (request: SeenRequest) => void | Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startAuthority(
  options: { types?: string[]; fields?: AuthorityReadApiOptions['fields'] } = {},
): Promise<TestAuthority> {
  const types = options.types ?? ['customer'];
  const store = new Map<string, Map<string, AuthorityRow>>(types.map((t) => [t, new Map()]));
  const requests: SeenRequest[] = [];
  let inProgress = 0;
  let maxInProgress = 0;
  let failures: { left: number; status: number } = { left: 0, status: 503 };
  let app: FastifyInstance | undefined;
  let port = 0;
  const seenOf = new WeakMap<object, SeenRequest>();

  const table = (type: string) => {
    const t = store.get(type);
    if (!t) throw new Error(`test authority has no type ${type}`);
    return t;
  };

  const authority: TestAuthority = {
    get baseUrl() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    requests,
    get maxInProgress() {
      return maxInProgress;
    },
    delayMs: 0,
    write(id, state, type = 'customer') {
      const version = (table(type).get(id)?.version ?? 0) + 1;
      table(type).set(id, { id, version, state, updatedAt: new Date() });
      return version;
    },
    put(id, version, state, type = 'customer') {
      table(type).set(id, { id, version, state, updatedAt: new Date() });
    },
    remove(id, type = 'customer') {
      table(type).delete(id);
    },
    version(id, type = 'customer') {
      return table(type).get(id)?.version ?? 0;
    },
    failNext(n, status = 503) {
      failures = { left: n, status };
    },
    async start() {
      const server = Fastify();
      server.addHook('onRequest', async (request, reply) => {
        const seen: SeenRequest = {
          method: request.method,
          url: request.url,
          headers: { ...request.headers },
        };
        requests.push(seen);
        seenOf.set(request, seen);
        inProgress++;
        maxInProgress = Math.max(maxInProgress, inProgress);
        await authority.onRequest?.(seen);
        if (failures.left > 0) {
          failures.left--;
          return reply.code(failures.status).send({ error: 'injected failure' });
        }
      });
      server.addHook('onResponse', async (request, reply) => {
        inProgress--;
        const seen = seenOf.get(request);
        if (seen) seen.status = reply.statusCode;
      });
      await server.register(authorityReadApi, {
        readers: Object.fromEntries(
          types.map((type) => [
            type,
            async (ids: string[]) => {
              // The state as it is when the request arrives, answered `delayMs` later.
              const rows = ids.flatMap((id) => {
                const row = table(type).get(id);
                return row ? [row] : [];
              });
              if (authority.delayMs > 0) await new Promise((r) => setTimeout(r, authority.delayMs));
              return rows;
            },
          ]),
        ),
        ...(options.fields ? { fields: options.fields } : {}),
      });
      await server.listen({ host: '127.0.0.1', port });
      port = (server.server.address() as { port: number }).port;
      app = server;
    },
    async stop() {
      const server = app;
      app = undefined;
      if (!server) return;
      // Drop keep-alive connections too, so the client sees the authority gone at once.
      server.server.closeAllConnections();
      await server.close();
    },
    async close() {
      await authority.stop();
    },
  };
  await authority.start();
  return authority;
}

/** Counts requests seen for one entity's GET. */
export const getsOf = (authority: TestAuthority, type: string, id: string): SeenRequest[] =>
  authority.requests.filter(
    (r) =>
      r.method === 'GET' &&
      (r.url === `/entities/${type}/${id}` || r.url.startsWith(`/entities/${type}/${id}?`)),
  );
