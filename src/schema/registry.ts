import { contentDigest } from '../envelope/canonical.js';
import { TidemarkError } from '../errors.js';
import type { Db, Sql } from '../store/db.js';
import { quoteIdentifier } from '../store/identifier.js';
import { defaultCompiler, type SchemaCompiler } from './compile.js';
import { checkCompatibility } from './compatibility.js';
import {
  checkTypeAndVersion,
  createSchemaSet,
  schemaFor,
  type SchemaSet,
  type SchemaTarget,
} from './schema-set.js';
import { registryStatements, type SchemaRow } from './sql.js';
import {
  defaultCompatibility,
  isCompatibilityMode,
  type BreakingChange,
  type CompatibilityMode,
  type EventSchema,
  type JsonSchema,
  type SchemaIssue,
} from './types.js';
import { createEventValidator, type EventValidator, type EventValidatorOptions } from './validator.js';

export interface SchemaRegistryOptions {
  readonly db: Db;
  /** The Tidemark schema (database namespace) the registry tables live in; default `tidemark`. */
  readonly schema?: string;
  /** Compiler to use (e.g. with extra annotation keywords); compiled validators are cached in it. */
  readonly compiler?: SchemaCompiler;
  /** Mode for a type registered without one; default `BACKWARD`. */
  readonly defaultCompatibility?: CompatibilityMode;
}

export interface RegisterOptions {
  /**
   * The type's compatibility mode, stored for this and later registrations. Without it the
   * stored mode applies (or the registry's default for a new type).
   */
  readonly compatibility?: CompatibilityMode;
}

export interface RegisterResult {
  readonly type: string;
  readonly version: number;
  /** `unchanged`: the same schema was already registered under this version. */
  readonly status: 'registered' | 'unchanged';
  readonly compatibility: CompatibilityMode;
  readonly digest: string;
}

export interface RegisteredSchema extends EventSchema {
  readonly registeredAt: string;
}

/** A validation hook over a snapshot of the registry, refreshed on demand. */
export interface RefreshableValidator extends EventValidator {
  /** Reloads the registry, e.g. after `TM_SCHEMA_UNKNOWN_VERSION` for a version registered since. */
  refresh(): Promise<void>;
}

/**
 * JSON Schemas per event type and version, stored in the database (migration 002).
 *
 * Rules: versions of a type are registered in order without gaps (the first may be any
 * number, then latest + 1), so upcasters can lift events one version at a time; a registered
 * version never changes; a new version must be compatible with the earlier ones under the
 * type's mode.
 */
export interface SchemaRegistry {
  /**
   * Registers `schema` as `version` of `type`. Idempotent: the same schema again is
   * `unchanged`.
   * @throws TidemarkError `TM_SCHEMA_INVALID` (does not compile), `TM_SCHEMA_INCOMPATIBLE`
   *   (`context.changes` lists each breaking change), `TM_SCHEMA_VERSION_EXISTS` (other content
   *   under that version), `TM_INVALID_ARGUMENT` (version out of order, bad type or mode).
   */
  register(
    type: string,
    version: number,
    schema: JsonSchema,
    options?: RegisterOptions,
  ): Promise<RegisterResult>;
  get(type: string, version: number): Promise<RegisteredSchema | undefined>;
  latest(type: string): Promise<RegisteredSchema | undefined>;
  versions(type: string): Promise<number[]>;
  types(): Promise<string[]>;
  /** The type's mode (the registry default if it has none yet). */
  compatibility(type: string): Promise<CompatibilityMode>;
  setCompatibility(type: string, mode: CompatibilityMode): Promise<void>;
  /**
   * What would break if `schema` were registered as the next version (empty: compatible),
   * under `mode` or the type's mode. Nothing is written.
   */
  check(type: string, schema: JsonSchema, mode?: CompatibilityMode): Promise<BreakingChange[]>;
  /**
   * The issues of `envelope.data` against its schema version; empty when valid.
   * @throws TidemarkError `TM_SCHEMA_UNKNOWN_VERSION` when that version is not registered.
   */
  validate(envelope: SchemaTarget): Promise<SchemaIssue[]>;
  /** Every registered schema, compiled, in memory. */
  snapshot(): Promise<SchemaSet>;
  /** A synchronous validation hook for producers and consumers (see {@link EventValidator}). */
  validator(options?: EventValidatorOptions): Promise<RefreshableValidator>;
}

const key = (type: string, version: number) => `${version}\u0000${type}`;

function toIso(value: Date | string): string {
  return value instanceof Date ? value.toISOString() : new Date(value).toISOString();
}

export function createSchemaRegistry(options: SchemaRegistryOptions): SchemaRegistry {
  const { db } = options;
  const sql = registryStatements(quoteIdentifier(options.schema ?? 'tidemark', 'schema name'));
  const compiler = options.compiler ?? defaultCompiler();
  const fallbackMode = options.defaultCompatibility ?? defaultCompatibility;
  checkMode(fallbackMode);
  /** Registered versions never change, so rows are cached for good once read. */
  const cache = new Map<string, RegisteredSchema>();

  const fromRow = (type: string, row: SchemaRow): RegisteredSchema => {
    const cached = cache.get(key(type, Number(row.version)));
    if (cached) return cached;
    const registered: RegisteredSchema = Object.freeze({
      type,
      version: Number(row.version),
      schema: row.schema as JsonSchema,
      digest: row.digest,
      origin: 'registry',
      registeredAt: toIso(row.registered_at),
    });
    cache.set(key(type, registered.version), registered);
    return registered;
  };

  const modeOf = async (tx: Sql, type: string): Promise<CompatibilityMode | undefined> => {
    const result = await tx.query<{ compatibility: CompatibilityMode }>(sql.mode, [type]);
    return result.rows[0]?.compatibility;
  };

  const history = async (tx: Sql, type: string): Promise<RegisteredSchema[]> =>
    (await tx.query<SchemaRow>(sql.history, [type])).rows.map((row) => fromRow(type, row));

  const registry: SchemaRegistry = {
    async register(type, version, schema, registerOptions = {}) {
      checkTypeAndVersion(type, version);
      if (registerOptions.compatibility !== undefined) checkMode(registerOptions.compatibility);
      compiler.compile(schema, `${type} v${version}`);
      const digest = contentDigest(schema);
      return db.transaction(async (tx) => {
        await tx.query(sql.lockType, [`tidemark.schema.${options.schema ?? 'tidemark'}.${type}`]);
        const stored = await modeOf(tx, type);
        const mode = registerOptions.compatibility ?? stored ?? fallbackMode;
        const earlier = await history(tx, type);
        const same = earlier.find((e) => e.version === version);
        if (same) {
          if (same.digest !== digest) {
            throw new TidemarkError(
              'TM_SCHEMA_VERSION_EXISTS',
              `${type} v${version} is already registered with different content; a registered version never changes ` +
                `(events may have been written with it): register the new schema as v${earlier[earlier.length - 1]!.version + 1}`,
              { context: { type, version, registeredDigest: same.digest, digest } },
            );
          }
          if (mode !== stored) await tx.query(sql.setMode, [type, mode]);
          return { type, version, status: 'unchanged', compatibility: mode, digest };
        }
        const latest = earlier[earlier.length - 1];
        if (latest && version !== latest.version + 1) {
          throw new TidemarkError(
            'TM_INVALID_ARGUMENT',
            `${type} v${version} cannot be registered: the latest version is ${latest.version}, so the next one is ` +
              `v${latest.version + 1}; versions are registered in order without gaps so that upcasters lift events one version at a time`,
            { context: { type, version, latest: latest.version } },
          );
        }
        const changes = checkCompatibility(type, { version, schema }, earlier, mode);
        if (changes.length > 0) throw incompatible(type, version, mode, changes);
        await tx.query(sql.setMode, [type, mode]);
        await tx.query(sql.insert, [type, version, JSON.stringify(schema), digest]);
        return { type, version, status: 'registered', compatibility: mode, digest };
      });
    },

    async get(type, version) {
      const cached = cache.get(key(type, version));
      if (cached) return cached;
      const row = (await db.query<SchemaRow>(sql.one, [type, version])).rows[0];
      return row ? fromRow(type, row) : undefined;
    },

    async latest(type) {
      const row = (await db.query<SchemaRow>(sql.latest, [type])).rows[0];
      return row ? fromRow(type, row) : undefined;
    },

    async versions(type) {
      return (await db.query<{ version: number }>(sql.versions, [type])).rows.map((r) => Number(r.version));
    },

    async types() {
      return (await db.query<{ event_type: string }>(sql.types)).rows.map((r) => r.event_type);
    },

    async compatibility(type) {
      return (await modeOf(db, type)) ?? fallbackMode;
    },

    async setCompatibility(type, mode) {
      checkTypeAndVersion(type, 1);
      checkMode(mode);
      await db.query(sql.setMode, [type, mode]);
    },

    async check(type, schema, mode) {
      if (mode !== undefined) checkMode(mode);
      const earlier = await history(db, type);
      const next = (earlier[earlier.length - 1]?.version ?? 0) + 1;
      compiler.compile(schema, `${type} v${next}`);
      return checkCompatibility(
        type,
        { version: next, schema },
        earlier,
        mode ?? (await registry.compatibility(type)),
      );
    },

    async validate(envelope) {
      const version = envelope.schemaversion;
      const found = version === undefined ? undefined : await registry.get(envelope.type, version);
      const known = found ? [] : await registry.versions(envelope.type);
      const schema = schemaFor(
        { get: () => found, versions: () => (found ? [found.version] : known) },
        envelope,
      );
      if (envelope.eventkind === 'tombstone') return [];
      return compiler.compile(schema.schema, `${schema.type} v${schema.version}`).validate(envelope.data);
    },

    async snapshot() {
      const rows = (await db.query<SchemaRow & { event_type: string }>(sql.all)).rows;
      return createSchemaSet(
        rows.map((row) => fromRow(row.event_type, row)),
        { compiler },
      );
    },

    async validator(validatorOptions = {}) {
      let current = createEventValidator(await registry.snapshot(), validatorOptions);
      const hook = ((envelope: SchemaTarget) => current(envelope)) as RefreshableValidator;
      hook.refresh = async () => {
        current = createEventValidator(await registry.snapshot(), validatorOptions);
      };
      return hook;
    },
  };
  return Object.freeze(registry);
}

function checkMode(mode: unknown): asserts mode is CompatibilityMode {
  if (!isCompatibilityMode(mode)) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `compatibility mode ${JSON.stringify(mode)} is not known; use one of BACKWARD, BACKWARD_TRANSITIVE, FORWARD, ` +
        'FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE, NONE',
      { context: { mode } },
    );
  }
}

/** The `TM_SCHEMA_INCOMPATIBLE` error listing each breaking change on its own line. */
export function incompatible(
  type: string,
  version: number,
  mode: CompatibilityMode,
  changes: readonly BreakingChange[],
): TidemarkError {
  return new TidemarkError(
    'TM_SCHEMA_INCOMPATIBLE',
    `${type} v${version} is not ${mode} compatible (${changes.length} breaking change${changes.length === 1 ? '' : 's'}):\n` +
      changes.map((c) => `  - ${c.message}`).join('\n') +
      '\nMake the change compatible (e.g. add the field as optional), publish it as a new event type, ' +
      'or change the type’s mode on purpose.',
    { context: { type, version, compatibility: mode, changes } },
  );
}
