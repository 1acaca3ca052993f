import { Type, type TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject } from 'ajv';
import type { TopologyIssue, Path } from './issues.js';
import { repairPolicies, strategies, tiers } from './model.js';
import { didYouMean, listOf } from './suggest.js';
import { BackboneSchema } from './backbone.js';

/*
 * The shape of `tidemark.yaml` as a JSON Schema (TypeBox), with defaults. Shape only: rules that
 * relate one part of the file to another (references, the single authority, …) live in
 * check.ts. Each schema's `description` doubles as the fix a message suggests.
 */

const namePattern = '^[a-z][a-z0-9]*(-[a-z0-9]+)*$';
const Name = (what: string) =>
  Type.String({
    pattern: namePattern,
    maxLength: 63,
    description: `${what}: lower-case letters and digits, words joined by '-', starting with a letter (e.g. customer-profile)`,
  });
const Description = Type.String({ default: '', description: 'a text for people' });
const StringEnum = <T extends readonly string[]>(values: T, description: string, fallback?: T[number]) =>
  Type.Unsafe<T[number]>({
    type: 'string',
    enum: [...values],
    description,
    ...(fallback === undefined ? {} : { default: fallback }),
  });

const ContextSchema = Type.Object(
  { name: Name('the context name'), description: Description },
  { additionalProperties: false, description: 'a context, e.g. { name: billing, description: … }' },
);

const EntityTypeSchema = Type.Object(
  {
    name: Name('the entity type name'),
    authority: Name('the one context that owns and writes this entity type'),
    description: Description,
  },
  {
    additionalProperties: false,
    description: 'an entity type, e.g. { name: customer, authority: customer-profile }',
  },
);

const RuleSchema = Type.Object(
  {
    hold: Type.Optional(Name('the held state a change waits in until released (e.g. under-review)')),
    'deferred-until': Type.Optional(Name('the calendar whose next occurrence makes a change effective')),
    'blocked-when': Type.Optional(Name('the condition that blocks changes while it holds')),
    when: Type.Optional(Name('the condition under which a hold applies')),
    description: Description,
  },
  {
    additionalProperties: false,
    description:
      "a rule mapping with one of 'hold: <state>', 'deferred-until: <calendar>', 'blocked-when: <condition>'",
  },
);

/** A field path of an event's data, as allow-lists write it (`address.postcode`). */
const FieldPath = (description: string) =>
  Type.String({
    pattern: '^[A-Za-z_$][A-Za-z0-9_$-]*(\\.[A-Za-z_$][A-Za-z0-9_$-]*)*$',
    maxLength: 200,
    description,
  });

const FlowSchema = Type.Object(
  {
    name: Name('the flow name'),
    entityType: Name('the entity type that flows'),
    source: Name("the entity type's authority context"),
    consumer: Name('the context that receives the entity type'),
    strategy: StringEnum(strategies, `the propagation strategy: one of ${strategies.join(', ')}`),
    tier: StringEnum(tiers, `the consistency tier: one of ${tiers.join(', ')}`, 'eventual'),
    maxStalenessMs: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          'a whole number of milliseconds, how old a local copy may be under the bounded tier (e.g. 60000)',
      }),
    ),
    rules: Type.Array(RuleSchema, { default: [], description: 'a list of consumer rules' }),
    fields: Type.Optional(
      Type.Array(
        FieldPath(
          'a field path of the entity type’s event data, names joined by dots (e.g. address.postcode)',
        ),
        {
          minItems: 1,
          description:
            'a list of the fields this consumer may receive, e.g. [customerId, address.city]; leave it out to send every field but PII',
        },
      ),
    ),
    pii: Type.Array(
      FieldPath('a field path from this flow’s fields that the schema tags x-pii (e.g. email)'),
      {
        default: [],
        description:
          'a list of PII-tagged fields from fields that this consumer is explicitly allowed, e.g. [email]',
      },
    ),
    description: Description,
  },
  {
    additionalProperties: false,
    description:
      'a flow, e.g. { name: customer-to-billing, entityType: customer, source: customer-profile, consumer: billing, strategy: push-state }',
  },
);

const DecisionSchema = Type.Object(
  {
    name: Name('the decision name'),
    entityType: Name('the entity type the decision reads'),
    requires: Type.Array(
      Type.String({
        pattern: '^[a-z]+@[a-z][a-z0-9]*(-[a-z0-9]+)*$',
        description: 'a requirement <stage>@<context> (e.g. applied@billing)',
      }),
      { minItems: 1, description: 'a list of readiness requirements, e.g. [applied@billing]' },
    ),
    cutOff: Type.Optional(Name('the calendar whose cut-off must have passed')),
    description: Description,
  },
  {
    additionalProperties: false,
    description:
      'a decision, e.g. { name: send-letter, entityType: customer, requires: [applied@communications] }',
  },
);

const CalendarSchema = Type.Object(
  {
    name: Name('the calendar name'),
    cron: Type.Optional(
      Type.String({ minLength: 1, description: "a five-field cron expression, e.g. '0 0 1 * *'" }),
    ),
    description: Description,
  },
  {
    additionalProperties: false,
    description: "a calendar, e.g. { name: next-billing-cycle, cron: '0 0 1 * *' }",
  },
);

const ConditionSchema = Type.Object(
  { name: Name('the condition name'), description: Description },
  { additionalProperties: false, description: 'a condition, e.g. { name: investigation-open }' },
);

const ScheduleSchema = Type.Object(
  {
    flow: Name('the name of the flow to reconcile'),
    every: Type.Optional(
      Type.String({
        pattern: '^[1-9][0-9]*(s|m|h|d)$',
        description: 'a duration: a whole number and a unit s, m, h or d (e.g. 15m)',
      }),
    ),
    cron: Type.Optional(
      Type.String({ minLength: 1, description: "a five-field cron expression, e.g. '*/15 * * * *'" }),
    ),
    repair: StringEnum(repairPolicies, `the repair policy: one of ${repairPolicies.join(', ')}`, 'exception'),
  },
  {
    additionalProperties: false,
    description:
      'a reconciliation schedule, e.g. { flow: customer-to-billing, every: 15m, repair: republish }',
  },
);

const list = (item: TSchema, what: string) =>
  Type.Array(item, { default: [], description: `a list of ${what}` });

export const TopologySchema = Type.Object(
  {
    version: Type.Literal(1, { default: 1, description: 'the file format version, 1' }),
    contexts: Type.Array(ContextSchema, {
      minItems: 1,
      description: 'a list of contexts, e.g. - name: billing',
    }),
    entityTypes: Type.Array(EntityTypeSchema, {
      minItems: 1,
      description: 'a list of entity types, e.g. - { name: customer, authority: customer-profile }',
    }),
    flows: list(FlowSchema, 'flows'),
    decisions: list(DecisionSchema, 'decisions'),
    calendars: list(CalendarSchema, 'calendars'),
    conditions: list(ConditionSchema, 'conditions'),
    reconciliation: list(ScheduleSchema, 'reconciliation schedules'),
    backbone: BackboneSchema,
  },
  {
    additionalProperties: false,
    description:
      'a mapping with contexts, entityTypes, flows, decisions, calendars, conditions, reconciliation, backbone',
  },
);

const ajv = new Ajv({ allErrors: true, useDefaults: 'empty', verbose: true, strict: true });
const validate = ajv.compile(TopologySchema);

/**
 * Checks the shape of a decoded document and fills in defaults (in place: `data` is changed).
 * Returns every problem found, each with its path and a message that says how to fix it.
 */
export function schemaIssues(data: unknown): TopologyIssue[] {
  if (validate(data)) return [];
  return (validate.errors ?? []).flatMap(translate);
}

function pathOf(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}

/** How a value reads in a message: strings quoted, containers by kind. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing (the value is empty)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `'${value}'`;
  return String(value);
}

const typeWords: Record<string, string> = {
  object: 'a mapping (key: value lines)',
  array: 'a list (lines starting with -)',
  string: 'a text value',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
};

function descriptionOf(schema: unknown): string | undefined {
  const description = (schema as { description?: unknown } | undefined)?.description;
  return typeof description === 'string' ? description : undefined;
}

function hintOf(schema: unknown): string {
  const description = descriptionOf(schema);
  return description === undefined ? '' : `; expected ${description}`;
}

function translate(error: ErrorObject): TopologyIssue[] {
  const path: Path = pathOf(error.instancePath);
  const schema = error.parentSchema as { description?: string; properties?: Record<string, unknown> };
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties': {
      const field = String(params.additionalProperty);
      const allowed = Object.keys(schema.properties ?? {});
      return [
        {
          path: [...path, field],
          at: 'key',
          message: `unknown field '${field}'; allowed fields: ${listOf(allowed)}${didYouMean(field, allowed)}`,
        },
      ];
    }
    case 'required': {
      const field = String(params.missingProperty);
      const what = descriptionOf(schema.properties?.[field]);
      return [
        {
          path: [...path, field],
          message: `missing required field '${field}'${what ? ` (${what})` : ''}: add it`,
        },
      ];
    }
    case 'type': {
      const expected = descriptionOf(schema) ?? typeWords[String(params.type)] ?? String(params.type);
      return [{ path, message: `expected ${expected}, got ${describeValue(error.data)}` }];
    }
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map(String);
      const value = String(error.data);
      return [
        {
          path,
          message: `${describeValue(error.data)} is not allowed here; use one of ${listOf(allowed)}${didYouMean(value, allowed)}`,
        },
      ];
    }
    case 'const':
      return [
        {
          path,
          message: `must be ${JSON.stringify(params.allowedValue)}, got ${describeValue(error.data)}${hintOf(schema)}`,
        },
      ];
    case 'pattern':
      return [{ path, message: `${describeValue(error.data)} is not valid${hintOf(schema)}` }];
    case 'maxLength':
      return [
        { path, message: `${describeValue(error.data)} is longer than ${String(params.limit)} characters` },
      ];
    case 'minLength':
      return [{ path, message: `must not be empty${hintOf(schema)}` }];
    case 'minimum':
      return [
        { path, message: `must be at least ${String(params.limit)}, got ${describeValue(error.data)}` },
      ];
    case 'minItems':
      return [
        {
          path,
          message: `needs at least ${String(params.limit)} item${params.limit === 1 ? '' : 's'}${hintOf(schema)}`,
        },
      ];
    default:
      return [{ path, message: `${error.message ?? 'is not valid'}${hintOf(schema)}` }];
  }
}
