import type { FastifyInstance } from 'fastify';
import type { DeadLetterCounts } from '../../dlq/index.js';
import type { ServerContext } from '../context.js';
import {
  EntityListQuery,
  EntityParams,
  ReadinessParams,
  VersionQuery,
  type EntityListQuery as EntityListQueryT,
  type EntityParams as EntityParamsT,
  type ReadinessParams as ReadinessParamsT,
  type VersionQuery as VersionQueryT,
} from '../schemas.js';
import { topologyView } from '../topology-view.js';

interface ConsumerProgress {
  readonly consumer: string;
  /** Events on the backbone not yet committed by the consumer's group; null when unknown. */
  readonly lag: number | null;
  readonly partitions: readonly { partition: number; committed: number; head: number; pending: number }[];
  readonly deadLetters: { open: number; parked: number; parkedKeys: number } | null;
}

export function estateRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const viewer = { access: 'viewer' } as const;

  async function consumerProgress(consumer: string): Promise<ConsumerProgress> {
    const partitions = ctx.groupLag ? await ctx.groupLag(consumer) : undefined;
    let deadLetters: ConsumerProgress['deadLetters'] = null;
    if (ctx.consumers.names.includes(consumer)) {
      const counts: DeadLetterCounts[] = await ctx.consumers.get(consumer).deadLetters.counts();
      const mine = counts.find((c) => c.consumer === consumer);
      deadLetters = { open: mine?.open ?? 0, parked: mine?.parked ?? 0, parkedKeys: mine?.parkedKeys ?? 0 };
    }
    return {
      consumer,
      // A group with no checkpoint has not started: its lag is unknown, not zero.
      lag: partitions && partitions.length > 0 ? partitions.reduce((sum, p) => sum + p.pending, 0) : null,
      partitions: (partitions ?? []).map(({ partition, committed, head, pending }) => ({
        partition,
        committed,
        head,
        pending,
      })),
      deadLetters,
    };
  }

  app.get(
    '/api/topology',
    { config: viewer, schema: { tags: ['estate'], summary: 'Contexts, entity types, flows and decisions' } },
    async () => topologyView(ctx.topology),
  );

  app.get(
    '/api/consumers',
    { config: viewer, schema: { tags: ['estate'], summary: 'The consumers whose stores this server reads' } },
    async () => ({ consumers: ctx.consumers.names }),
  );

  app.get(
    '/api/relays',
    { config: viewer, schema: { tags: ['estate'], summary: 'Each relay: rows relayed and outbox backlog' } },
    async () => ({ relays: await Promise.all((await ctx.relays()).map((r) => r.status())) }),
  );

  app.get(
    '/api/flows',
    {
      config: viewer,
      schema: {
        tags: ['estate'],
        summary: 'Per flow: consumer lag (events behind on the backbone), dead letters and parked keys',
      },
    },
    async () => {
      const relays = await Promise.all((await ctx.relays()).map((r) => r.status()));
      const backlog = relays.reduce((sum, r) => sum + r.backlog, 0);
      const declared = ctx.topology?.flows ?? [];
      const consumers = [...new Set([...declared.map((f) => f.consumer), ...ctx.consumers.names])];
      const progress = new Map(
        await Promise.all(consumers.map(async (c) => [c, await consumerProgress(c)] as const)),
      );
      const flows = declared.map((flow) => ({
        name: flow.name,
        entityType: flow.entityType,
        source: flow.source,
        strategy: flow.strategy,
        tier: flow.tier,
        backlog,
        ...progress.get(flow.consumer)!,
      }));
      return { at: new Date().toISOString(), backlog, relays, flows, consumers: [...progress.values()] };
    },
  );

  app.get(
    '/api/lag/history',
    {
      config: viewer,
      schema: { tags: ['estate'], summary: 'Recent lag samples taken by the server, oldest first' },
    },
    async () => ({ samples: ctx.lagSamples() }),
  );

  app.get(
    '/api/entities',
    {
      config: viewer,
      schema: {
        tags: ['entities'],
        summary: 'Recently changed entities at the authority, newest first',
        querystring: EntityListQuery,
      },
    },
    async (request) => {
      const query = request.query as EntityListQueryT;
      const rows = (
        await ctx.db.query<{ entity_type: string; entity_id: string; version: string; updated_at: Date }>(
          `SELECT entity_type, entity_id, version, updated_at FROM ${ctx.quotedSchema}.entity_versions
           WHERE ($1::text IS NULL OR entity_type = $1) ORDER BY updated_at DESC, entity_id LIMIT $2`,
          [query.type ?? null, query.limit ?? 50],
        )
      ).rows;
      return {
        entities: rows.map((r) => ({
          entityType: r.entity_type,
          entityId: r.entity_id,
          version: Number(r.version),
          updatedAt: new Date(r.updated_at).toISOString(),
        })),
      };
    },
  );

  app.get(
    '/api/entities/:type/:id',
    {
      config: viewer,
      schema: {
        tags: ['entities'],
        summary: "Where each version stands in each context, each decision's readiness, and a summary",
        params: EntityParams,
      },
    },
    async (request) => {
      const { type, id } = request.params as EntityParamsT;
      return ctx.ledger.status(type, id);
    },
  );

  app.get(
    '/api/entities/:type/:id/timeline',
    {
      config: viewer,
      schema: {
        tags: ['entities'],
        summary: 'Every stage of every version, oldest first',
        params: EntityParams,
      },
    },
    async (request) => {
      const { type, id } = request.params as EntityParamsT;
      return { entityType: type, entityId: id, timeline: await ctx.ledger.timeline(type, id) };
    },
  );

  app.get(
    '/api/entities/:type/:id/readiness/:decision',
    {
      config: viewer,
      schema: {
        tags: ['entities'],
        summary: 'Whether a business decision may use a version of the entity, and why not',
        params: ReadinessParams,
        querystring: VersionQuery,
      },
    },
    async (request) => {
      const { type, id, decision } = request.params as ReadinessParamsT;
      const { version } = request.query as VersionQueryT;
      return ctx.ledger.ready(decision, type, id, version);
    },
  );
}
