import type { FastifyRequest } from 'fastify';
import type { Ledger } from '../ledger/index.js';
import type { Metrics } from '../obs/index.js';
import type { Db } from '../store/db.js';
import type { Topology } from '../topology/model.js';
import type { Principal, Role } from './auth.js';
import type { ConsumerDiagnosis } from './consumer-progress.js';
import type { GroupLagReader, LagSample, RelayView } from './progress.js';
import type { FieldAllowLists } from './redact.js';
import type { ConsumerDirectory } from './stores.js';

/** What the routes share: the stores, readers and configuration of one server. */
export interface ServerContext {
  readonly db: Db;
  readonly schema: string;
  readonly quotedSchema: string;
  readonly topology: Topology | undefined;
  readonly consumers: ConsumerDirectory;
  readonly ledger: Pick<Ledger, 'status' | 'timeline' | 'ready'>;
  readonly relays: () => Promise<readonly RelayView[]>;
  readonly groupLag: GroupLagReader | undefined;
  readonly metrics: Metrics;
  readonly fields: FieldAllowLists | undefined;
  readonly lagSamples: () => readonly LagSample[];
  readonly sampleLag: () => Promise<LagSample>;
  /** Each consumer's progress and stall diagnosis (one when named; unknown name: 404). */
  readonly diagnoseConsumers: (only?: string) => Promise<ConsumerDiagnosis[]>;
  /** Run before each /metrics scrape (picks up relays that started since). */
  readonly beforeScrape: () => Promise<void>;
}

/** Per-route access rule, set in the route's `config`. */
export interface RouteAccess {
  readonly access: Role | 'public';
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** The authenticated caller; routes that reach here are never public. */
export const principalOf = (request: FastifyRequest): Principal => request.principal!;
