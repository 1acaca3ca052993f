/**
 * Contract-test helpers for producers' and consumers' own test suites: a producer asserts the
 * events it builds match the published schemas; both sides assert that the schema history in
 * the shared directory stays compatible. They throw Node's `AssertionError` (any test runner
 * reports it); no vitest needed.
 *
 * @example
 *   await assertEventMatchesSchema(createAddressChanged(customer), 'schemas');
 *   await assertSchemaCompatible('schemas', 'customer.AddressChanged', 'FULL_TRANSITIVE');
 */
import { AssertionError } from 'node:assert';
import { validateEnvelope } from '../envelope/validate.js';
import { isTidemarkError } from '../errors.js';
import { checkHistory } from '../schema/compatibility.js';
import { loadSchemasFromDirectory } from '../schema/directory.js';
import type { SchemaRegistry } from '../schema/registry.js';
import type { SchemaSet, SchemaTarget } from '../schema/schema-set.js';
import type { CompatibilityMode } from '../schema/types.js';

/** Where the schemas come from: a registry, a loaded set, or a directory path. */
export type SchemaSource = SchemaRegistry | SchemaSet | string;

/**
 * Asserts that `envelope` is a valid Tidemark envelope whose `data` matches the schema of its
 * `type` and `schemaversion` in `source`. The failure message lists every issue with its path.
 */
export async function assertEventMatchesSchema(envelope: SchemaTarget, source: SchemaSource): Promise<void> {
  const envelopeIssues = validateEnvelope(envelope);
  if (envelopeIssues.length > 0) {
    throw new AssertionError({
      message: `not a valid Tidemark envelope: ${envelopeIssues.map((i) => `${i.attribute}: expected ${i.expected}, got ${i.actual}`).join('; ')}`,
      actual: envelope,
    });
  }
  const schemas = typeof source === 'string' ? await loadSchemasFromDirectory(source) : source;
  let issues;
  try {
    issues = await schemas.validate(envelope);
  } catch (error) {
    if (isTidemarkError(error, 'TM_SCHEMA_UNKNOWN_VERSION')) {
      throw new AssertionError({ message: error.message, actual: envelope.schemaversion });
    }
    throw error;
  }
  if (issues.length > 0) {
    throw new AssertionError({
      message:
        `${envelope.type} v${envelope.schemaversion}: the event data does not match its schema:\n` +
        issues.map((i) => `  - ${i.message}`).join('\n'),
      actual: envelope.data,
    });
  }
}

/**
 * Asserts that the versions of `type` in `dir` (`<dir>/<type>/<version>.json`) are compatible
 * under `mode` (default BACKWARD), listing every breaking change otherwise.
 */
export async function assertSchemaCompatible(
  dir: string,
  type: string,
  mode: CompatibilityMode = 'BACKWARD',
): Promise<void> {
  const schemas = await loadSchemasFromDirectory(dir);
  const versions = schemas.versions(type);
  if (versions.length === 0) {
    throw new AssertionError({
      message: `${dir} has no schemas for ${type}; expected ${dir}/${type}/1.json (types found: ${schemas.types().join(', ') || 'none'})`,
    });
  }
  const changes = checkHistory(
    type,
    versions.map((version) => ({ version, schema: schemas.get(type, version)!.schema })),
    mode,
  );
  if (changes.length > 0) {
    throw new AssertionError({
      message:
        `${type} is not ${mode} compatible (${changes.length} breaking change${changes.length === 1 ? '' : 's'}):\n` +
        changes.map((c) => `  - ${c.message}`).join('\n'),
    });
  }
}
