/**
 * Upcasters lift events written with an old schema version to the latest one on read, so
 * consumer code handles only the latest shape. An upcaster lifts one step, from version N to
 * N + 1; a chain of them lifts v1 → v2 → v3.
 */
import type { Envelope } from '../envelope/types.js';
import { TidemarkError } from '../errors.js';
import { isObject, type JsonObject } from './json.js';
import { alternatives } from './normalize.js';
import type { SchemaLookup } from './schema-set.js';

/**
 * Turns the data of version `fromVersion` into data of version `fromVersion + 1`. It gets a
 * copy of the data (changing it is safe) and the envelope as it stands at `fromVersion`.
 */
export type Upcaster = (data: any, envelope: Envelope) => unknown; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface UpcastersOptions {
  /**
   * The schemas of each type (a directory's or a registry snapshot). They define the latest
   * version of a type and which fields each version declares; without them the latest version
   * is one past the highest registered upcaster, and no unknown-field preservation happens.
   */
  readonly schemas?: SchemaLookup;
  /**
   * Keep fields an event carries that its version's schema does not declare ("unknown" fields,
   * e.g. written by a newer producer or added by a tolerant one) when an upcaster's result lacks
   * them. Declared fields an upcaster leaves out are dropped: that is how a field is removed or
   * renamed. Applies at every object level the schema declares. Default true.
   */
  readonly preserveUnknownFields?: boolean;
}

export interface Upcasters {
  /** Registers the step from `fromVersion` to `fromVersion + 1` of `type`; returns `this` for chaining. */
  registerUpcaster(type: string, fromVersion: number, upcaster: Upcaster): Upcasters;
  /** The version `upcast` lifts events of `type` to; undefined when nothing is known of it. */
  latestVersion(type: string): number | undefined;
  /**
   * The event with its data lifted to the latest version and `schemaversion` set to it. Events
   * already at (or beyond) the latest version, events without `schemaversion` and tombstones
   * are returned as they are.
   * @throws TidemarkError `TM_SCHEMA_UPCAST_FAILED` when a step is missing or an upcaster throws.
   */
  upcast<T = unknown>(envelope: Envelope): Envelope<T>;
}

export function createUpcasters(options: UpcastersOptions = {}): Upcasters {
  const steps = new Map<string, Map<number, Upcaster>>();
  const preserve = options.preserveUnknownFields ?? true;

  const upcasters: Upcasters = {
    registerUpcaster(type, fromVersion, upcaster) {
      if (!Number.isInteger(fromVersion) || fromVersion < 1 || typeof upcaster !== 'function') {
        throw new TidemarkError(
          'TM_INVALID_ARGUMENT',
          `registerUpcaster('${type}', ${JSON.stringify(fromVersion)}, …) needs a whole version from 1 and a function`,
          { context: { type, fromVersion } },
        );
      }
      const forType = steps.get(type) ?? new Map<number, Upcaster>();
      if (forType.has(fromVersion)) {
        throw new TidemarkError(
          'TM_INVALID_ARGUMENT',
          `an upcaster from ${type} v${fromVersion} to v${fromVersion + 1} is already registered; each step has one`,
          { context: { type, fromVersion } },
        );
      }
      forType.set(fromVersion, upcaster);
      steps.set(type, forType);
      return upcasters;
    },

    latestVersion(type) {
      const fromSchemas = options.schemas?.latest(type)?.version;
      if (fromSchemas !== undefined) return fromSchemas;
      const registered = [...(steps.get(type)?.keys() ?? [])];
      return registered.length ? Math.max(...registered) + 1 : undefined;
    },

    upcast<T>(envelope: Envelope): Envelope<T> {
      const latest = upcasters.latestVersion(envelope.type);
      const start = envelope.schemaversion;
      if (
        latest === undefined ||
        start === undefined ||
        start >= latest ||
        envelope.eventkind === 'tombstone'
      ) {
        return envelope as Envelope<T>;
      }
      let current: Envelope = envelope;
      for (let version = start; version < latest; version += 1) {
        const step = steps.get(envelope.type)?.get(version);
        if (!step) {
          throw new TidemarkError(
            'TM_SCHEMA_UPCAST_FAILED',
            `event ${envelope.id} (${envelope.type} v${start}) cannot be lifted to v${latest}: no upcaster from v${version} ` +
              `to v${version + 1}; register one with registerUpcaster('${envelope.type}', ${version}, fn)`,
            {
              context: {
                eventId: envelope.id,
                type: envelope.type,
                from: start,
                to: latest,
                missing: version,
              },
            },
          );
        }
        const before = current.data;
        let after: unknown;
        try {
          after = step(structuredClone(before), current);
        } catch (cause) {
          throw new TidemarkError(
            'TM_SCHEMA_UPCAST_FAILED',
            `the upcaster from ${envelope.type} v${version} to v${version + 1} failed on event ${envelope.id}: ${(cause as Error)?.message ?? String(cause)}`,
            { cause, context: { eventId: envelope.id, type: envelope.type, from: version, to: version + 1 } },
          );
        }
        const schema = options.schemas?.get(envelope.type, version);
        if (preserve && schema) after = keepUnknown(before, after, schema.schema, schema.schema);
        current = { ...current, data: after, schemaversion: version + 1 };
      }
      return current as Envelope<T>;
    },
  };
  return upcasters;
}

/** Field names `schema` declares for an object (through `$ref`, `allOf`, `anyOf`…), with their schemas. */
function declaredFields(schema: unknown, root: unknown): Map<string, unknown[]> {
  const fields = new Map<string, unknown[]>();
  for (const alt of alternatives(schema, root, 'writer')) {
    if (!isObject(alt.node.properties)) continue;
    for (const [name, sub] of Object.entries(alt.node.properties))
      fields.set(name, [...(fields.get(name) ?? []), sub]);
  }
  return fields;
}

/** `after` plus the fields of `before` its schema does not declare and `after` lacks, at every level. */
function keepUnknown(before: unknown, after: unknown, schema: unknown, root: unknown): unknown {
  if (!isObject(before) || !isObject(after)) return after;
  const declared = declaredFields(schema, root);
  const result: Record<string, unknown> = { ...(after as JsonObject) };
  for (const [name, value] of Object.entries(before)) {
    const subSchemas = declared.get(name);
    if (!subSchemas) {
      if (!(name in result)) result[name] = value;
    } else if (subSchemas.length === 1 && isObject(value) && isObject(result[name])) {
      result[name] = keepUnknown(value, result[name], subSchemas[0], root);
    }
  }
  return result;
}
