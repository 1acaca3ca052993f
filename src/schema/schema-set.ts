import { contentDigest } from '../envelope/canonical.js';
import type { Envelope } from '../envelope/types.js';
import { TidemarkError } from '../errors.js';
import { defaultCompiler, type SchemaCompiler } from './compile.js';
import type { EventSchema, JsonSchema, SchemaIssue } from './types.js';

/** The parts of an envelope schema validation reads. Every {@link Envelope} has them. */
export type SchemaTarget = Pick<Envelope, 'type' | 'schemaversion' | 'data'> &
  Partial<Pick<Envelope, 'id' | 'eventkind'>>;

/** Read access to schemas by type and version (synchronous: everything is in memory). */
export interface SchemaLookup {
  /** Event types with at least one version, sorted. */
  types(): string[];
  /** The type's versions, ascending (empty for an unknown type). */
  versions(type: string): number[];
  get(type: string, version: number): EventSchema | undefined;
  /** The highest version of the type. */
  latest(type: string): EventSchema | undefined;
}

/** An immutable, in-memory set of compiled schemas: from a directory or a registry snapshot. */
export interface SchemaSet extends SchemaLookup {
  /**
   * Checks `envelope.data` against the schema of its `type` and `schemaversion`; returns the
   * issues (empty when valid). Tombstones carry no data and are always valid.
   * @throws TidemarkError `TM_SCHEMA_UNKNOWN_VERSION` when no schema is known for them.
   */
  validate(envelope: SchemaTarget): SchemaIssue[];
}

export interface SchemaInput {
  readonly type: string;
  readonly version: number;
  readonly schema: JsonSchema;
  readonly origin?: string;
}

/**
 * Builds a {@link SchemaSet}, compiling every schema up front (so a bad one fails here, named
 * by its origin, not at the first event).
 */
export function createSchemaSet(
  inputs: Iterable<SchemaInput>,
  options: { compiler?: SchemaCompiler } = {},
): SchemaSet {
  const compiler = options.compiler ?? defaultCompiler();
  const byType = new Map<string, Map<number, EventSchema>>();
  for (const input of inputs) {
    checkTypeAndVersion(input.type, input.version);
    const where = input.origin ?? `${input.type} v${input.version}`;
    compiler.compile(input.schema, where);
    const versions = byType.get(input.type) ?? new Map<number, EventSchema>();
    if (versions.has(input.version)) {
      throw new TidemarkError(
        'TM_INVALID_ARGUMENT',
        `${where}: ${input.type} v${input.version} is given twice; each version of a type has one schema`,
        { context: { type: input.type, version: input.version } },
      );
    }
    versions.set(input.version, {
      type: input.type,
      version: input.version,
      schema: input.schema,
      digest: contentDigest(input.schema),
      ...(input.origin === undefined ? {} : { origin: input.origin }),
    });
    byType.set(input.type, versions);
  }
  const lookup: SchemaLookup = {
    types: () => [...byType.keys()].sort(),
    versions: (type) => [...(byType.get(type)?.keys() ?? [])].sort((a, b) => a - b),
    get: (type, version) => byType.get(type)?.get(version),
    latest(type) {
      const versions = lookup.versions(type);
      return versions.length ? lookup.get(type, versions[versions.length - 1]!) : undefined;
    },
  };
  return Object.freeze({
    ...lookup,
    validate: (envelope: SchemaTarget) => validateWith(lookup, compiler, envelope),
  });
}

const maxVersion = 2_147_483_647;

/** Throws `TM_INVALID_ARGUMENT` unless `type` is a non-empty string and `version` a whole number from 1. */
export function checkTypeAndVersion(type: unknown, version: unknown): void {
  if (typeof type !== 'string' || type.length === 0 || type.length > 255) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `event type ${JSON.stringify(type)} is not allowed: use the CloudEvents type, 1-255 characters, e.g. "customer.AddressChanged"`,
      { context: { type } },
    );
  }
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1 || version > maxVersion) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `schema version ${JSON.stringify(version)} of ${type} is not allowed: use a whole number from 1 to ${maxVersion}`,
      { context: { type, version } },
    );
  }
}

/** The schema an envelope names, or `TM_SCHEMA_UNKNOWN_VERSION` saying what is known instead. */
export function schemaFor(
  lookup: Pick<SchemaLookup, 'get' | 'versions'>,
  envelope: SchemaTarget,
): EventSchema {
  const { type, schemaversion: version } = envelope;
  const event = envelope.id === undefined ? `event of type ${type}` : `event ${envelope.id} (${type})`;
  const found = version === undefined ? undefined : lookup.get(type, version);
  if (found) return found;
  const known = lookup.versions(type);
  const context = { type, schemaVersion: version, known, eventId: envelope.id };
  if (known.length === 0) {
    throw new TidemarkError(
      'TM_SCHEMA_UNKNOWN_VERSION',
      `${event}: no schema is registered for type ${type}; register schemas/${type}/1.json (or call register('${type}', 1, schema))`,
      { context },
    );
  }
  if (version === undefined) {
    throw new TidemarkError(
      'TM_SCHEMA_UNKNOWN_VERSION',
      `${event} has no schemaversion; set it to one of the registered versions ${known.join(', ')}`,
      { context },
    );
  }
  throw new TidemarkError(
    'TM_SCHEMA_UNKNOWN_VERSION',
    `${event} names schema version ${version}, which is not registered (registered: ${known.join(', ')}); ` +
      'register that version first, or refresh a validator built before it was registered',
    { context },
  );
}

export function validateWith(
  lookup: Pick<SchemaLookup, 'get' | 'versions'>,
  compiler: SchemaCompiler,
  envelope: SchemaTarget,
): SchemaIssue[] {
  const schema = schemaFor(lookup, envelope);
  if (envelope.eventkind === 'tombstone') return [];
  return compiler
    .compile(schema.schema, schema.origin ?? `${schema.type} v${schema.version}`)
    .validate(envelope.data);
}
