import { Type, type Static } from '@sinclair/typebox';

/**
 * Request schemas of the control plane. Fastify validates each request against them and
 * `/openapi.json` is generated from the same objects, so the two cannot disagree.
 */

/** Names and ids as they appear in paths and queries: printable, no control characters. */
const text = (maxLength: number, description: string) =>
  Type.String({ minLength: 1, maxLength, pattern: '^[^\\u0000-\\u001f\\u007f]+$', description });

export const ConsumerName = text(100, 'a consumer (context) name, as in GET /api/consumers');
export const EntityType = text(200, 'an entity type of the topology, e.g. customer');
export const EntityId = text(200, "the entity's id at its authority");

export const DeadLetterParams = Type.Object(
  {
    consumer: ConsumerName,
    id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'dead-letter id' }),
  },
  { additionalProperties: false },
);
export type DeadLetterParams = Static<typeof DeadLetterParams>;

export const ConsumerParams = Type.Object({ consumer: ConsumerName }, { additionalProperties: false });
export type ConsumerParams = Static<typeof ConsumerParams>;

export const OperationParams = Type.Object(
  {
    consumer: ConsumerName,
    id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'operation request id' }),
  },
  { additionalProperties: false },
);
export type OperationParams = Static<typeof OperationParams>;

export const EntityParams = Type.Object({ type: EntityType, id: EntityId }, { additionalProperties: false });
export type EntityParams = Static<typeof EntityParams>;

export const ReadinessParams = Type.Object(
  { type: EntityType, id: EntityId, decision: text(200, 'a decision of the topology, e.g. send-letter') },
  { additionalProperties: false },
);
export type ReadinessParams = Static<typeof ReadinessParams>;

export const VersionQuery = Type.Object(
  {
    version: Type.Optional(
      Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'default: the latest' }),
    ),
  },
  { additionalProperties: false },
);
export type VersionQuery = Static<typeof VersionQuery>;

export const LimitQuery = Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })) },
  { additionalProperties: false },
);
export type LimitQuery = Static<typeof LimitQuery>;

export const EntityListQuery = Type.Object(
  {
    type: Type.Optional(EntityType),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  },
  { additionalProperties: false },
);
export type EntityListQuery = Static<typeof EntityListQuery>;

export const DeadLetterQuery = Type.Object(
  {
    consumer: Type.Optional(ConsumerName),
    status: Type.Optional(
      Type.Union(
        ['active', 'all', 'open', 'retry', 'parked', 'resolved', 'skipped'].map((s) => Type.Literal(s)),
        { default: 'active' },
      ),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  },
  { additionalProperties: false },
);
export type DeadLetterQuery = Static<typeof DeadLetterQuery>;

/** Every operator action says why; the reason goes to the audit log with the token's name. */
const Reason = Type.String({
  minLength: 3,
  maxLength: 2000,
  description: 'why (at least 3 characters), recorded in the audit log',
});

export const ActionBody = Type.Object({ reason: Reason }, { additionalProperties: false });
export type ActionBody = Static<typeof ActionBody>;

export const EditBody = Type.Object(
  { reason: Reason, data: Type.Unknown({ description: "the event's new data; validated before release" }) },
  { additionalProperties: false },
);
export type EditBody = Static<typeof EditBody>;

const Position = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Time = Type.String({ format: 'date-time', maxLength: 40 });

export const ReplayBody = Type.Object(
  {
    reason: Reason,
    fromPosition: Type.Optional(Position),
    toPosition: Type.Optional(Position),
    fromTime: Type.Optional(Time),
    toTime: Type.Optional(Time),
    keys: Type.Optional(Type.Array(text(200, 'a partition key'), { minItems: 1, maxItems: 1000 })),
  },
  { additionalProperties: false },
);
export type ReplayBody = Static<typeof ReplayBody>;

export const ReconRunsQuery = Type.Object(
  {
    flow: Type.Optional(text(200, 'a flow of the topology')),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  },
  { additionalProperties: false },
);
export type ReconRunsQuery = Static<typeof ReconRunsQuery>;

export const ReconExceptionsQuery = Type.Object(
  {
    flow: Type.Optional(text(200, 'a flow of the topology')),
    status: Type.Optional(Type.Union(['open', 'investigating', 'resolved'].map((s) => Type.Literal(s)))),
  },
  { additionalProperties: false },
);
export type ReconExceptionsQuery = Static<typeof ReconExceptionsQuery>;

export const AssignBody = Type.Object(
  { reason: Reason, note: Type.Optional(Type.String({ maxLength: 2000 })) },
  { additionalProperties: false },
);
export type AssignBody = Static<typeof AssignBody>;
