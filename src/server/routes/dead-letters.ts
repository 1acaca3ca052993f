import type { FastifyInstance } from 'fastify';
import { TidemarkError } from '../../errors.js';
import type { DeadLetter, DeadLetterFilter } from '../../dlq/index.js';
import { principalOf, type ServerContext } from '../context.js';
import { forViewer } from '../redact.js';
import {
  ActionBody,
  DeadLetterParams,
  DeadLetterQuery,
  EditBody,
  type ActionBody as ActionBodyT,
  type DeadLetterParams as DeadLetterParamsT,
  type DeadLetterQuery as DeadLetterQueryT,
  type EditBody as EditBodyT,
} from '../schemas.js';

export function deadLetterRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const base = '/api/consumers/:consumer/dead-letters/:id';

  app.get(
    '/api/dead-letters',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['dead letters'],
        summary: 'Dead letters of every served consumer (default: active ones: open, retry, parked)',
        querystring: DeadLetterQuery,
      },
    },
    async (request) => {
      const query = request.query as DeadLetterQueryT;
      const handles = query.consumer ? [ctx.consumers.get(query.consumer)] : ctx.consumers.all();
      const limit = query.limit ?? 100;
      const lists = await Promise.all(
        handles.map((h) =>
          h.deadLetters.list({ consumer: h.name, status: query.status as DeadLetterFilter['status'], limit }),
        ),
      );
      const deadLetters: DeadLetter[] = lists
        .flat()
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id - b.id)
        .slice(0, limit);
      return { deadLetters };
    },
  );

  app.get(
    base,
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['dead letters'],
        summary: "One dead letter with its event; viewers see only the consumer's allowed fields",
        params: DeadLetterParams,
      },
    },
    async (request) => {
      const { consumer, id } = request.params as DeadLetterParamsT;
      const detail = await ctx.consumers.get(consumer).deadLetters.show(id);
      sameConsumer(detail.consumer, consumer, id);
      return principalOf(request).role === 'operator' ? detail : forViewer(detail, ctx.fields);
    },
  );

  for (const verb of ['retry', 'skip'] as const) {
    app.post(
      `${base}/${verb}`,
      {
        config: { access: 'operator' },
        schema: {
          tags: ['dead letters'],
          summary:
            verb === 'retry'
              ? 'Release the head of a parked key for one more attempt (audited)'
              : 'Give up on the event on purpose; its key moves on (audited)',
          params: DeadLetterParams,
          body: ActionBody,
        },
      },
      async (request) => {
        const { consumer, id } = request.params as DeadLetterParamsT;
        const { reason } = request.body as ActionBodyT;
        const admin = ctx.consumers.get(consumer).deadLetters;
        sameConsumer((await admin.show(id)).consumer, consumer, id);
        return admin[verb](id, { actor: principalOf(request).name, reason });
      },
    );
  }

  app.post(
    `${base}/edit`,
    {
      config: { access: 'operator' },
      schema: {
        tags: ['dead letters'],
        summary: "Replace the event's data (validated), keep the original, release it (audited)",
        params: DeadLetterParams,
        body: EditBody,
      },
    },
    async (request) => {
      const { consumer, id } = request.params as DeadLetterParamsT;
      const { reason, data } = request.body as EditBodyT;
      const admin = ctx.consumers.get(consumer).deadLetters;
      sameConsumer((await admin.show(id)).consumer, consumer, id);
      return admin.edit(id, data, { actor: principalOf(request).name, reason });
    },
  );
}

/** Consumers may share a schema: an id only counts under the consumer it belongs to. */
function sameConsumer(actual: string, asked: string, id: number): void {
  if (actual !== asked) {
    throw new TidemarkError('TM_DLQ_NOT_FOUND', `consumer '${asked}' has no dead letter #${id}`, {
      context: { consumer: asked, id },
    });
  }
}
