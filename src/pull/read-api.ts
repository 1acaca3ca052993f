import { Ajv, type ErrorObject } from 'ajv';
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { TidemarkError, isTidemarkError } from '../errors.js';
import { problemMediaType, problemOf } from './problem.js';
import { projectFields } from '../schema/projection.js';
import { minimizeData } from '../schema/minimize.js';
import type { SchemaLookup } from '../schema/schema-set.js';
import { stateEventType } from '../reconcile/repair-type.js';
import { fieldPolicyOf } from '../topology/field-policy.js';
import type { Topology } from '../topology/model.js';
import {
  consumerHeader,
  maxBatchIds,
  maxVersion,
  type AuthorityRow,
  type BatchGetDocument,
  type BehindEntity,
  type EntityDocument,
  type EntityReader,
} from './wire.js';

export interface AuthorityReadApiOptions {
  /** How to read each entity type this authority serves, by entity type. */
  readonly readers: Readonly<Record<string, EntityReader>>;
  /**
   * Field allow-lists per consumer and entity type: a caller naming itself `billing` with the
   * `Tidemark-Consumer` header gets only `fields.billing.customer` of a customer's state
   * (dotted paths such as `address.city` keep part of an object; the consumer runtime's
   * `receive.fields` projects events the same way).
   * When set, a caller that names no consumer, an unknown one, or one without a list for the
   * type is refused (403). This is data minimisation, not authentication: put authentication
   * (tokens, mTLS) in front of the API.
   */
  readonly fields?: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;
  /**
   * Project from the topology instead of `fields`: a caller naming itself with the
   * `Tidemark-Consumer` header must be a context with a flow of the entity type, and gets the
   * state cut down exactly as the relay cuts that consumer's events (its flow's `fields`; fields
   * the `<type>.state` schema tags `x-pii` only with the flow's opt-in). Other callers get 403.
   */
  readonly minimize?: { readonly topology: Topology; readonly schemas?: SchemaLookup };
}

/** Cuts a state down for the caller; `undefined` when every field may be returned. */
type Projector = (type: string, state: unknown) => unknown;

interface Config {
  readonly readers: ReadonlyMap<string, EntityReader>;
  readonly fields: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>> | undefined;
  readonly minimize: AuthorityReadApiOptions['minimize'];
}

const typePattern = /^[^:/\s]{1,200}$/;

function invalidOption(path: string, expected: string, actual: unknown): TidemarkError {
  return new TidemarkError(
    'TM_INVALID_ARGUMENT',
    `authorityReadApi option ${path}: expected ${expected}, got ${JSON.stringify(actual) ?? String(actual)}`,
    { context: { option: path } },
  );
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** Checks the options once, naming the path of anything wrong, and freezes what it keeps. */
function configure(options: AuthorityReadApiOptions): Config {
  if (!isRecord(options.readers))
    throw invalidOption('readers', 'an object of reader functions', options.readers);
  const readers = new Map<string, EntityReader>();
  for (const [type, reader] of Object.entries(options.readers)) {
    if (!typePattern.test(type))
      throw invalidOption(
        `readers.${type}`,
        'an entity type of 1-200 characters without ":", "/" or spaces',
        type,
      );
    if (typeof reader !== 'function')
      throw invalidOption(`readers.${type}`, 'a function (ids) => rows', reader);
    readers.set(type, reader);
  }
  if (readers.size === 0) throw invalidOption('readers', 'at least one entity type', options.readers);
  const minimize = options.minimize;
  if (minimize !== undefined) {
    if (options.fields !== undefined)
      throw invalidOption('minimize', 'either fields or minimize, not both', 'both');
    if (!isRecord(minimize) || typeof minimize.topology?.flowOf !== 'function')
      throw invalidOption('minimize.topology', 'a topology (loadTopology)', minimize);
    return { readers, fields: undefined, minimize };
  }
  if (options.fields === undefined) return { readers, fields: undefined, minimize: undefined };
  if (!isRecord(options.fields)) throw invalidOption('fields', 'an object by consumer name', options.fields);
  const fields = new Map<string, Map<string, readonly string[]>>();
  for (const [consumer, byType] of Object.entries(options.fields)) {
    if (!isRecord(byType)) throw invalidOption(`fields.${consumer}`, 'an object by entity type', byType);
    const lists = new Map<string, readonly string[]>();
    for (const [type, list] of Object.entries(byType)) {
      if (!readers.has(type))
        throw invalidOption(
          `fields.${consumer}.${type}`,
          `one of the served types (${[...readers.keys()].join(', ')})`,
          type,
        );
      if (!Array.isArray(list) || !list.every((f) => typeof f === 'string' && f.length > 0))
        throw invalidOption(`fields.${consumer}.${type}`, 'an array of field names', list);
      lists.set(type, Object.freeze([...new Set(list as string[])]));
    }
    fields.set(consumer, lists);
  }
  return { readers, fields, minimize: undefined };
}

const versionSchema = { type: 'integer', minimum: 1, maximum: maxVersion } as const;
const idSchema = { type: 'string', minLength: 1, maxLength: 512 } as const;

const getSchema = {
  params: {
    type: 'object',
    required: ['type', 'id'],
    properties: { type: { type: 'string', minLength: 1, maxLength: 200 }, id: idSchema },
  },
  querystring: { type: 'object', properties: { minVersion: versionSchema } },
} as const;

const batchSchema = {
  params: {
    type: 'object',
    required: ['type'],
    properties: { type: { type: 'string', minLength: 1, maxLength: 200 } },
  },
  body: {
    type: 'object',
    required: ['ids'],
    additionalProperties: false,
    properties: {
      ids: { type: 'array', minItems: 1, maxItems: maxBatchIds, items: idSchema },
      minVersions: { type: 'object', additionalProperties: versionSchema },
    },
  },
} as const;

interface GetRoute {
  Params: { type: string; id: string };
  Querystring: { minVersion?: number };
}

interface BatchRoute {
  Params: { type: string };
  Body: { ids: string[]; minVersions?: Record<string, number> };
}

/**
 * The authority's read API as a Fastify plugin:
 *
 * - `GET /entities/:type/:id[?minVersion=V]` → `{ type, id, version, state, updatedAt }` with
 *   `ETag: "<version>"` and `Last-Modified`; `If-None-Match` with the current ETag → 304; an
 *   authority below `minVersion` → 409 with `currentVersion` and `Retry-After: 1`.
 * - `POST /entities/:type:batchGet` with `{ ids, minVersions? }` (1–100 ids) →
 *   `{ entities, missing, behind }`.
 *
 * Every error is `application/problem+json` with Tidemark's `code`. See docs/pull.md.
 *
 * @example
 * ```ts
 * const app = Fastify();
 * await app.register(authorityReadApi, {
 *   readers: { customer: (ids) => readCustomers(db, ids) },
 *   fields: { billing: { customer: ['name', 'address'] } },
 * });
 * ```
 */
export const authorityReadApi: FastifyPluginAsync<AuthorityReadApiOptions> = async (app, options) => {
  const config = configure(options);

  // Path and query text is coerced to the declared types; bodies are JSON and checked strictly
  // (no coercion, unknown properties refused rather than silently dropped).
  const lenient = new Ajv({ coerceTypes: true, allErrors: false, strict: false });
  const strict = new Ajv({ coerceTypes: false, allErrors: false, strict: false });
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? strict : lenient).compile(schema),
  );
  app.setErrorHandler((error: FastifyError, request, reply) => sendError(error, request, reply));

  app.get<GetRoute>('/entities/:type/:id', { schema: getSchema }, async (request, reply) => {
    const { type, id } = request.params;
    const reader = readerFor(config, request, type);
    const project = projectorFor(config, request, type);
    const [row] = await readRows(reader, type, [id]);
    if (!row) {
      throw new TidemarkError('TM_ENTITY_NOT_FOUND', `the authority has no ${type} '${id}'`, {
        context: { type, id },
      });
    }
    const { minVersion } = request.query;
    if (minVersion !== undefined && row.version < minVersion) {
      throw new TidemarkError(
        'TM_VERSION_NOT_REACHED',
        `${type} '${id}' is at version ${row.version}, below the requested minVersion ${minVersion}; ` +
          'retry shortly (the authority may not have committed or replicated it yet)',
        { context: { type, id, currentVersion: row.version, minVersion } },
      );
    }
    const etag = `"${row.version}"`;
    void reply
      .header('etag', etag)
      .header('last-modified', new Date(row.updatedAt).toUTCString())
      .header('cache-control', 'no-cache');
    if (config.fields || config.minimize) void reply.header('vary', 'Tidemark-Consumer');
    if (matchesEtag(request.headers['if-none-match'], etag)) return reply.code(304).send();
    return documentOf(type, row, project);
  });

  app.post<BatchRoute>(
    '/entities/:type(^[^:/]+)::batchGet',
    { schema: batchSchema },
    async (request): Promise<BatchGetDocument> => {
      const { type } = request.params;
      const reader = readerFor(config, request, type);
      const ids = [...new Set(request.body.ids)];
      const minVersions = request.body.minVersions ?? {};
      const stray = Object.keys(minVersions).filter((id) => !ids.includes(id));
      if (stray.length > 0) {
        throw new TidemarkError(
          'TM_INVALID_ARGUMENT',
          `body minVersions names ${stray.map((s) => `'${s}'`).join(', ')}, not among ids; ` +
            'give a minimum version only for requested ids',
          { context: { parameter: 'minVersions', ids: stray } },
        );
      }
      const project = projectorFor(config, request, type);
      const rows = new Map((await readRows(reader, type, ids)).map((row) => [row.id, row]));
      const entities: EntityDocument[] = [];
      const missing: string[] = [];
      const behind: BehindEntity[] = [];
      for (const id of ids) {
        const row = rows.get(id);
        const minVersion = minVersions[id];
        if (!row) missing.push(id);
        else if (minVersion !== undefined && row.version < minVersion)
          behind.push({ id, currentVersion: row.version, minVersion });
        else entities.push(documentOf(type, row, project));
      }
      return { entities, missing, behind };
    },
  );
};

/**
 * The reader of `type`, after the consumer check: with `fields` configured, an unknown or absent
 * consumer is refused before anything is revealed about the type or the id.
 */
function readerFor(config: Config, request: FastifyRequest, type: string): EntityReader {
  if (config.fields) consumerFields(config.fields, request);
  if (config.minimize) topologyConsumer(config.minimize.topology, request);
  const reader = config.readers.get(type);
  if (!reader) {
    throw new TidemarkError(
      'TM_ENTITY_NOT_FOUND',
      `this authority serves no entity type '${type}' (it serves: ${[...config.readers.keys()].join(', ')})`,
      { context: { type } },
    );
  }
  return reader;
}

function consumerFields(
  fields: NonNullable<Config['fields']>,
  request: FastifyRequest,
): ReadonlyMap<string, readonly string[]> {
  const header = request.headers[consumerHeader];
  const consumer = typeof header === 'string' ? header.trim() : undefined;
  if (!consumer) {
    throw new TidemarkError(
      'TM_CONSUMER_NOT_ALLOWED',
      'this read API returns fields per consumer: name yours in the Tidemark-Consumer header',
      { context: { header: 'Tidemark-Consumer' } },
    );
  }
  const lists = fields.get(consumer);
  if (!lists) {
    throw new TidemarkError(
      'TM_CONSUMER_NOT_ALLOWED',
      `consumer '${consumer}' has no field allow-list at this authority; ask its owners to add one`,
      { context: { consumer } },
    );
  }
  return lists;
}

/** The caller's context name from the header, which must be a context of the topology. */
function topologyConsumer(topology: Topology, request: FastifyRequest): string {
  const header = request.headers[consumerHeader];
  const consumer = typeof header === 'string' ? header.trim() : '';
  if (!consumer) {
    throw new TidemarkError(
      'TM_CONSUMER_NOT_ALLOWED',
      'this read API returns fields per consumer: name yours in the Tidemark-Consumer header',
      { context: { header: 'Tidemark-Consumer' } },
    );
  }
  if (!topology.contexts.some((c) => c.name === consumer)) {
    throw new TidemarkError(
      'TM_CONSUMER_NOT_ALLOWED',
      `consumer '${consumer}' is not a context of the topology; name a declared context in Tidemark-Consumer`,
      { context: { consumer } },
    );
  }
  return consumer;
}

/** How the caller's view of `type` is cut: by `fields`, by the topology, or not at all. */
function projectorFor(config: Config, request: FastifyRequest, type: string): Projector | undefined {
  if (config.minimize) {
    const { topology, schemas } = config.minimize;
    const consumer = topologyConsumer(topology, request);
    if (!topology.flowOf(type, consumer)) {
      throw new TidemarkError(
        'TM_CONSUMER_NOT_ALLOWED',
        `no flow brings '${type}' to '${consumer}' in the topology, so it may read none of its fields; ` +
          `add a flow of '${type}' to '${consumer}'`,
        { context: { consumer, type } },
      );
    }
    const policy = fieldPolicyOf(topology, consumer, schemas);
    const stateType = stateEventType(type);
    const schemaversion = schemas?.latest(stateType)?.version;
    return (entityType, state) =>
      minimizeData(policy, {
        type: stateType,
        entitytype: entityType,
        data: state,
        ...(schemaversion === undefined ? {} : { schemaversion }),
      });
  }
  const fields = fieldsFor(config, request, type);
  return fields ? (_type, state) => projectFields(state, fields) : undefined;
}

function fieldsFor(config: Config, request: FastifyRequest, type: string): readonly string[] | undefined {
  if (!config.fields) return undefined;
  const list = consumerFields(config.fields, request).get(type);
  if (!list) {
    const consumer = String(request.headers[consumerHeader]).trim();
    throw new TidemarkError(
      'TM_CONSUMER_NOT_ALLOWED',
      `consumer '${consumer}' may read no fields of '${type}'; ask the authority's owners to allow the fields it needs`,
      { context: { consumer, type } },
    );
  }
  return list;
}

/** Calls the reader and checks its answer: a bad row is the authority's bug, never sent on. */
async function readRows(reader: EntityReader, type: string, ids: string[]): Promise<AuthorityRow[]> {
  const rows = await reader(ids);
  if (!Array.isArray(rows)) throw readerBug(type, 'did not return an array');
  const wanted = new Set(ids);
  for (const row of rows as unknown[]) {
    if (!isRecord(row) || typeof row.id !== 'string' || !wanted.has(row.id))
      throw readerBug(
        type,
        `returned a row for an id it was not asked for: ${JSON.stringify(row)?.slice(0, 200)}`,
      );
    const version = row.version;
    if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1 || version > maxVersion)
      throw readerBug(
        type,
        `returned version ${JSON.stringify(version)} for '${row.id}' (expected an integer from 1)`,
      );
    const updatedAt = row.updatedAt;
    if (
      !(updatedAt instanceof Date || typeof updatedAt === 'string') ||
      Number.isNaN(new Date(updatedAt).getTime())
    )
      throw readerBug(
        type,
        `returned updatedAt ${JSON.stringify(updatedAt)} for '${row.id}' (expected a Date or ISO time)`,
      );
    if (row.state === undefined) throw readerBug(type, `returned no state for '${row.id}'`);
  }
  return rows as AuthorityRow[];
}

function readerBug(type: string, what: string): TidemarkError {
  return new TidemarkError('TM_UNEXPECTED', `the reader for '${type}' ${what}`, { context: { type } });
}

function documentOf(type: string, row: AuthorityRow, project: Projector | undefined): EntityDocument {
  return {
    type,
    id: row.id,
    version: row.version,
    state: project ? project(type, row.state) : row.state,
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
}

/** RFC 9110 `If-None-Match`: `*` or a list of (weak or strong) entity tags; weak comparison. */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((candidate) => {
    const tag = candidate.trim();
    return tag === '*' || tag.replace(/^W\//, '') === etag;
  });
}

/** Where a validation issue sits, in the form a person writes it: `ids[3]`, `minVersions.c-1`. */
function parameterName(issue: ErrorObject): string {
  const segments = issue.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
  const extra =
    (issue.params as { missingProperty?: string; additionalProperty?: string }).missingProperty ??
    (issue.params as { additionalProperty?: string }).additionalProperty;
  if (extra !== undefined) segments.push(extra);
  return segments.reduce((name, s) => (/^\d+$/.test(s) ? `${name}[${s}]` : name ? `${name}.${s}` : s), '');
}

const hints: Record<string, string> = {
  querystring: 'minVersion is a version number from 1, e.g. ?minVersion=3',
  body: `send {"ids": ["…"], "minVersions": {"<id>": 3}} with 1-${maxBatchIds} ids`,
  params: 'the path is /entities/<type>/<id>',
};

function validationError(error: FastifyError, request: FastifyRequest): TidemarkError {
  const location = error.validationContext ?? 'request';
  const issue = error.validation?.[0] as ErrorObject | undefined;
  const parameter = issue ? parameterName(issue) : '';
  let got = '';
  if (location === 'querystring' && parameter) {
    const raw = (request.query as Record<string, unknown>)[parameter];
    if (raw !== undefined) got = `, got ${JSON.stringify(raw)}`;
  }
  const where = parameter ? `${location} parameter '${parameter}'` : location;
  const message = issue?.message ?? error.message;
  const { additionalProperty } = (issue?.params ?? {}) as { additionalProperty?: string };
  const what = additionalProperty !== undefined ? 'is not allowed' : message;
  return new TidemarkError(
    'TM_INVALID_ARGUMENT',
    `${where} ${what}${got}; ${hints[location] ?? 'see docs/pull.md'}`,
    {
      context: { location, parameter: parameter || undefined },
    },
  );
}

function sendError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  let problem;
  if (isTidemarkError(error)) {
    if (error.status >= 500) request.log.error({ err: error }, 'read API failed');
    problem = problemOf(error, {
      instance: request.url,
      ...(error.code === 'TM_VERSION_NOT_REACHED'
        ? {
            extensions: {
              currentVersion: error.context.currentVersion,
              minVersion: error.context.minVersion,
            },
          }
        : {}),
    });
    if (error.code === 'TM_VERSION_NOT_REACHED') void reply.header('retry-after', '1');
  } else if (error.validation) {
    problem = problemOf(validationError(error, request), { instance: request.url });
  } else if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    // Fastify's own request errors: malformed JSON, wrong content type, body too large…
    problem = problemOf(
      new TidemarkError('TM_INVALID_ARGUMENT', `request body refused: ${error.message}`, {
        context: { location: 'body' },
      }),
      { instance: request.url, status: error.statusCode },
    );
  } else {
    request.log.error({ err: error }, 'read API failed');
    problem = problemOf(error, { instance: request.url });
  }
  return reply.code(problem.status).type(problemMediaType).send(JSON.stringify(problem));
}
