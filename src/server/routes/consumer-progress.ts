import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { ConsumerDiagnosis } from '../consumer-progress.js';
import { ConsumerName } from '../schemas.js';

const ProgressQuery = Type.Object({ consumer: Type.Optional(ConsumerName) }, { additionalProperties: false });

export function consumerProgressRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get(
    '/api/consumers/progress',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['estate'],
        summary:
          'Per consumer: position and lag, and whether it is stalled (work waiting, no event finished) and why',
        querystring: ProgressQuery,
        response: {
          200: Type.Object({ at: Type.String(), consumers: Type.Array(ConsumerDiagnosis) }),
        },
      },
    },
    async (request) => {
      const { consumer } = request.query as Static<typeof ProgressQuery>;
      return { at: new Date().toISOString(), consumers: await ctx.diagnoseConsumers(consumer) };
    },
  );
}
