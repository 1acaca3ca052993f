/**
 * Types of the schema module: JSON Schemas per event type and version, the compatibility
 * modes a type's history is held to, and the findings the module reports.
 */

/** A JSON Schema (2020-12 dialect): an object, or `true` / `false`. */
export type JsonSchema = boolean | { readonly [keyword: string]: unknown };

/** One version of one event type's payload schema (the envelope's `data`). */
export interface EventSchema {
  /** The CloudEvents `type` the schema is for, e.g. `customer.AddressChanged`. */
  readonly type: string;
  /** The envelope's `schemaversion`: a whole number from 1. */
  readonly version: number;
  readonly schema: JsonSchema;
  /** SHA-256 of the schema's canonical JSON: equal digests mean equal schemas. */
  readonly digest: string;
  /** Where it came from, for messages: a file path or `registry`. */
  readonly origin?: string;
}

/**
 * How each new version of a type must relate to the earlier ones. "Reader" is code that
 * validates and reads an event's data with one version's schema; "writer" is a producer that
 * wrote the data with another version's schema.
 *
 * - `BACKWARD`: readers using the new version can read data written with the previous
 *   version (consumers upgrade first, or replay old events with new code).
 * - `FORWARD`: readers still using the previous version can read data written with the new
 *   version (producers upgrade first).
 * - `FULL`: both.
 * - `*_TRANSITIVE`: the same against every earlier version, not only the previous one.
 * - `NONE`: no check.
 */
export type CompatibilityMode =
  'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FORWARD_TRANSITIVE' | 'FULL' | 'FULL_TRANSITIVE' | 'NONE';

export const compatibilityModes: readonly CompatibilityMode[] = [
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
  'NONE',
];

/** The mode a type gets when none is chosen. */
export const defaultCompatibility: CompatibilityMode = 'BACKWARD';

export function isCompatibilityMode(value: unknown): value is CompatibilityMode {
  return typeof value === 'string' && (compatibilityModes as readonly string[]).includes(value);
}

/**
 * One reason an event's data does not match its schema: where (a data path such as
 * `address.postcode` or `lines[2].amount`, empty for the data itself), which JSON Schema
 * keyword failed, and a sentence for people.
 */
export interface SchemaIssue {
  readonly path: string;
  readonly rule: string;
  readonly message: string;
  /** The keyword's parameters (e.g. `{ limit: 8 }` for `maxLength`). */
  readonly params?: Readonly<Record<string, unknown>>;
}

/** What kind of breaking change a {@link SchemaDifference} is. */
export type DifferenceKind =
  /** The reader requires a field the writer's schema does not require. */
  | 'required-added'
  /** The writer may write a field the reader does not declare and readers refuse unknown fields. */
  | 'field-rejected'
  /** The writer allows unknown fields; the reader refuses them (or restricts their values). */
  | 'unknown-fields-rejected'
  /** The writer allows JSON types (e.g. null, non-whole numbers) the reader does not. */
  | 'type-narrowed'
  /** Values the writer's enum/const allows that the reader does not accept. */
  | 'values-rejected'
  /** The reader restricts values to an enum/const the writer does not have. */
  | 'values-restricted'
  /** A numeric/length/size limit is stricter for the reader than for the writer. */
  | 'limit-tightened'
  /** The reader has a `pattern` the writer does not have. */
  | 'pattern-changed'
  /** The reader has a `format` the writer does not have. */
  | 'format-changed'
  /** The reader's schema at this place is `false`: nothing is accepted. */
  | 'nothing-accepted'
  /** The reader uses a keyword the checker cannot compare, with a different value than the writer. */
  | 'unverifiable';

/**
 * A reason why data written with one schema (the writer) may be rejected by another (the
 * reader). Direction-free: {@link BreakingChange} adds which versions and which way.
 */
export interface SchemaDifference {
  readonly kind: DifferenceKind;
  /** Data path segments: property names, `[]` for array items, `[n]` for tuple positions, `*` for map values. */
  readonly path: readonly string[];
  /** For `limit-tightened`, `unverifiable`…: the keyword concerned. */
  readonly keyword?: string;
  /** The writer's value of the keyword (types, limit, pattern, values…), if it has one. */
  readonly writer?: unknown;
  /** The reader's value of the keyword. */
  readonly reader?: unknown;
  /** What of the writer's the reader rejects: values (`values-rejected`) or JSON types (`type-narrowed`). */
  readonly rejected?: readonly unknown[];
  /** True when the writer's schema declares the field (for `required-added`). */
  readonly declaredByWriter?: boolean;
}

/** A breaking change between two versions of a type, with a sentence that names the field. */
export interface BreakingChange extends SchemaDifference {
  readonly type: string;
  /** `backward`: new readers cannot read old data; `forward`: old readers cannot read new data. */
  readonly direction: 'backward' | 'forward';
  /** The version whose schema wrote the data. */
  readonly writerVersion: number;
  /** The version whose schema reads (validates) it. */
  readonly readerVersion: number;
  /** The data path as text, e.g. `address.postcode` (empty for the data itself). */
  readonly field: string;
  readonly message: string;
}
