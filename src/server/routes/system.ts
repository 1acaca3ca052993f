import type { FastifyInstance } from 'fastify';
import { TidemarkError } from '../../errors.js';
import type { ServerContext } from '../context.js';
import { principalOf } from '../context.js';

export function systemRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get(
    '/healthz',
    { config: { access: 'public' }, schema: { tags: ['system'], summary: 'The process is up' } },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      config: { access: 'public' },
      schema: { tags: ['system'], summary: 'Every database the server reads answers' },
    },
    async () => {
      const dbs = new Set([ctx.db, ...ctx.consumers.all().map((c) => c.db)]);
      try {
        for (const db of dbs) await db.query('SELECT 1');
      } catch (error) {
        throw new TidemarkError(
          'TM_SERVICE_UNREACHABLE',
          `a database of the control plane does not answer: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      }
      return { status: 'ready', databases: dbs.size };
    },
  );

  app.get(
    '/metrics',
    {
      config: { access: 'viewer' },
      schema: { tags: ['system'], summary: 'Prometheus metrics (text exposition format)' },
    },
    async (_request, reply) => {
      await ctx.beforeScrape();
      const body = await ctx.metrics.registry.metrics();
      return reply.type(ctx.metrics.registry.contentType).send(body);
    },
  );

  app.get(
    '/api/me',
    { config: { access: 'viewer' }, schema: { tags: ['system'], summary: "The token's holder and role" } },
    async (request) => principalOf(request),
  );
}
