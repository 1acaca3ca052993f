/**
 * Event schemas: JSON Schema (2020-12) per event type and version, compatibility checks
 * between versions, a database-backed registry, a validation hook, and upcasters.
 * See docs/schema.md.
 */
export {
  compatibilityModes,
  defaultCompatibility,
  isCompatibilityMode,
  type BreakingChange,
  type CompatibilityMode,
  type DifferenceKind,
  type EventSchema,
  type JsonSchema,
  type SchemaDifference,
  type SchemaIssue,
} from './types.js';
export {
  createSchemaCompiler,
  schemaDialect,
  type CompiledSchema,
  type SchemaCompiler,
  type SchemaCompilerOptions,
} from './compile.js';
export { formatNames } from './formats.js';
export { compareSchemas } from './compare.js';
export { describeDifference } from './describe.js';
export {
  breakingChanges,
  checkCompatibility,
  checkHistory,
  modeRules,
  type ModeRules,
  type VersionedSchema,
} from './compatibility.js';
export {
  createSchemaSet,
  type SchemaInput,
  type SchemaLookup,
  type SchemaSet,
  type SchemaTarget,
} from './schema-set.js';
export { loadSchemasFromDirectory, type LoadedSchemas, type SchemaFileProblem } from './directory.js';
export { createEventValidator, type EventValidator, type EventValidatorOptions } from './validator.js';
export {
  createSchemaRegistry,
  type RefreshableValidator,
  type RegisterOptions,
  type RegisterResult,
  type RegisteredSchema,
  type SchemaRegistry,
  type SchemaRegistryOptions,
} from './registry.js';
export { createUpcasters, type Upcaster, type Upcasters, type UpcastersOptions } from './upcast.js';
export { piiKeyword, piiPaths } from './pii.js';
export { schemaFieldPaths } from './fields.js';
export { omitFields, projectFields } from './projection.js';
export { allowListFor, minimizeData, minimizeEnvelope, withheldPii, type FieldPolicy } from './minimize.js';
export { createClaimCheckStore, type ClaimCheckOptions, type ClaimCheckStore } from './claim-check/store.js';
export {
  claimAttribute,
  claimDigestAttribute,
  claimReferenceOf,
  claimSizeAttribute,
  type ClaimReference,
} from './claim-check/attributes.js';
export type { ProducerSchemaOptions } from '../producer/validate-before-append.js';
export type { ReceiveOptions } from '../consumer/validate-on-receipt.js';
