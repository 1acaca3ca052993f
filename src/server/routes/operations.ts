import type { FastifyInstance } from 'fastify';
import { isTidemarkError, TidemarkError } from '../../errors.js';
import { principalOf, type ServerContext } from '../context.js';
import {
  ConsumerParams,
  LimitQuery,
  OperationParams,
  ReplayBody,
  type ConsumerParams as ConsumerParamsT,
  type LimitQuery as LimitQueryT,
  type OperationParams as OperationParamsT,
  type ReplayBody as ReplayBodyT,
} from '../schemas.js';

function checkRange(body: ReplayBodyT): Record<string, unknown> {
  const { fromPosition, toPosition, fromTime, toTime, keys } = body;
  if (fromPosition !== undefined && toPosition !== undefined && fromPosition > toPosition) {
    throw new TidemarkError(
      'TM_REQUEST_INVALID',
      `invalid replay range: fromPosition ${fromPosition} is after toPosition ${toPosition}; swap them`,
      { context: { fromPosition, toPosition } },
    );
  }
  if (fromTime !== undefined && toTime !== undefined && Date.parse(fromTime) > Date.parse(toTime)) {
    throw new TidemarkError(
      'TM_REQUEST_INVALID',
      `invalid replay range: fromTime ${fromTime} is after toTime ${toTime}; swap them`,
      { context: { fromTime, toTime } },
    );
  }
  for (const [name, value] of [
    ['fromTime', fromTime],
    ['toTime', toTime],
  ] as const) {
    if (value !== undefined && Number.isNaN(Date.parse(value))) {
      throw new TidemarkError('TM_REQUEST_INVALID', `${name} ${JSON.stringify(value)} is not a date-time`);
    }
  }
  return Object.fromEntries(
    Object.entries({ fromPosition, toPosition, fromTime, toTime, keys }).filter(([, v]) => v !== undefined),
  );
}

export function operationRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post(
    '/api/consumers/:consumer/replays',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['operations'],
        summary:
          'Ask the running consumer to replay a slice of history through its normal path (audited); ' +
          'answers 202 with the request to follow',
        params: ConsumerParams,
        body: ReplayBody,
      },
    },
    async (request, reply) => {
      const { consumer } = request.params as ConsumerParamsT;
      const body = request.body as ReplayBodyT;
      const params = checkRange(body);
      const handle = ctx.consumers.get(consumer);
      const created = await handle.operations.request({
        consumer,
        kind: 'replay',
        params,
        actor: principalOf(request).name,
        reason: body.reason,
      });
      return reply.code(202).send(created);
    },
  );

  app.get(
    '/api/consumers/:consumer/operations',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['operations'],
        summary: "The consumer's replay and rebuild requests, newest first",
        params: ConsumerParams,
        querystring: LimitQuery,
      },
    },
    async (request) => {
      const { consumer } = request.params as ConsumerParamsT;
      const { limit } = request.query as LimitQueryT;
      const handle = ctx.consumers.get(consumer);
      const ids = (
        await handle.db.query<{ id: string }>(
          `SELECT id FROM ${handle.quotedSchema}.operation_requests WHERE consumer = $1 ORDER BY id DESC LIMIT $2`,
          [consumer, limit ?? 100],
        )
      ).rows;
      return { operations: await Promise.all(ids.map((r) => handle.operations.get(Number(r.id)))) };
    },
  );

  app.get(
    '/api/consumers/:consumer/operations/:id',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['operations'],
        summary: 'One replay or rebuild request and its progress',
        params: OperationParams,
      },
    },
    async (request) => {
      const { consumer, id } = request.params as OperationParamsT;
      const handle = ctx.consumers.get(consumer);
      let found;
      try {
        found = await handle.operations.get(id);
      } catch (error) {
        if (!isTidemarkError(error, 'TM_INVALID_ARGUMENT')) throw error;
        found = undefined;
      }
      if (!found || found.consumer !== consumer) {
        throw new TidemarkError(
          'TM_OPERATION_NOT_FOUND',
          `consumer '${consumer}' has no operation request #${id}; list them with GET /api/consumers/${consumer}/operations`,
          { context: { consumer, id } },
        );
      }
      return found;
    },
  );
}
