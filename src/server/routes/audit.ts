import type { FastifyInstance } from 'fastify';
import { listAudit, type AuditEntry } from '../../dlq/audit.js';
import type { ServerContext } from '../context.js';
import { LimitQuery, type LimitQuery as LimitQueryT } from '../schemas.js';

export function auditRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get(
    '/api/audit',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['audit'],
        summary: 'Operator actions (who, when, what, why) from every served store, newest first',
        querystring: LimitQuery,
      },
    },
    async (request) => {
      const limit = (request.query as LimitQueryT).limit ?? 100;
      const places = new Map<string, { db: typeof ctx.db; quotedSchema: string; label: string }>();
      const dbIds = new Map<unknown, number>();
      for (const place of [
        { db: ctx.db, quotedSchema: ctx.quotedSchema, label: ctx.schema },
        ...ctx.consumers.all().map((c) => ({ db: c.db, quotedSchema: c.quotedSchema, label: c.schema })),
      ]) {
        if (!dbIds.has(place.db)) dbIds.set(place.db, dbIds.size);
        places.set(`${dbIds.get(place.db)}/${place.quotedSchema}`, place);
      }
      const entries: (AuditEntry & { store: string })[] = (
        await Promise.all(
          [...places.values()].map(async (p) =>
            (await listAudit(p.db, p.quotedSchema, limit)).map((e) => ({ ...e, store: p.label })),
          ),
        )
      ).flat();
      entries.sort((a, b) => b.at.localeCompare(a.at) || b.id - a.id);
      return { audit: entries.slice(0, limit) };
    },
  );
}
