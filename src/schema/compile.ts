import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { contentDigest } from '../envelope/canonical.js';
import { TidemarkError } from '../errors.js';
import { formats } from './formats.js';
import { formatPath, isObject, showValue } from './json.js';
import type { SchemaIssue } from './types.js';

/** The dialect Tidemark reads. A schema may leave `$schema` out; any other value is refused. */
export const schemaDialect = 'https://json-schema.org/draft/2020-12/schema';

/** A compiled schema: validates a value and reports every problem as a {@link SchemaIssue}. */
export interface CompiledSchema {
  readonly digest: string;
  validate(data: unknown): SchemaIssue[];
}

export interface SchemaCompilerOptions {
  /**
   * Extra annotation keywords schemas may use (e.g. `x-pii`). Any other unknown keyword makes
   * a schema fail to compile, so that a typo such as `requried` is caught.
   */
  readonly keywords?: readonly string[];
}

/**
 * Compiles JSON Schemas (2020-12) with ajv, once per distinct schema: compiled validators are
 * cached by the schema's content digest, so equal schemas of different types or versions share
 * one validator.
 */
export interface SchemaCompiler {
  /** Throws `TM_SCHEMA_INVALID` naming `where` (a file or `type vN`) when the schema is not valid. */
  compile(schema: unknown, where: string): CompiledSchema;
}

export function createSchemaCompiler(options: SchemaCompilerOptions = {}): SchemaCompiler {
  const ajv = new Ajv2020({
    allErrors: true,
    strict: true,
    // Type-strictness would refuse common, valid schemas (e.g. `properties` without `type`).
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    allowUnionTypes: true,
    validateFormats: true,
  });
  for (const [name, check] of Object.entries(formats)) ajv.addFormat(name, check);
  if (options.keywords?.length) ajv.addVocabulary([...options.keywords]);
  const cache = new Map<string, CompiledSchema>();

  return {
    compile(schema, where) {
      const problem = dialectProblem(schema);
      if (problem) throw invalidSchema(where, problem);
      const digest = contentDigest(schema);
      const cached = cache.get(digest);
      if (cached) return cached;
      let validateFn: ValidateFunction;
      try {
        validateFn = ajv.compile(schema as object | boolean);
      } catch (cause) {
        throw invalidSchema(where, explain((cause as Error).message), cause);
      } finally {
        // Forget the schema by its `$id`: other versions of the same type may reuse that id.
        if (typeof schema === 'object') ajv.removeSchema(schema as object);
      }
      const compiled: CompiledSchema = {
        digest,
        validate(data) {
          return validateFn(data) ? [] : issuesOf(validateFn.errors ?? [], data);
        },
      };
      cache.set(digest, compiled);
      return compiled;
    },
  };
}

let shared: SchemaCompiler | undefined;

/** The compiler used when none is passed: no extra keywords. */
export function defaultCompiler(): SchemaCompiler {
  shared ??= createSchemaCompiler();
  return shared;
}

function dialectProblem(schema: unknown): string | undefined {
  if (typeof schema === 'boolean') return undefined;
  if (!isObject(schema)) {
    return `a JSON Schema is an object or true/false, got ${Array.isArray(schema) ? 'an array' : showValue(schema)}`;
  }
  const declared = schema.$schema;
  if (declared !== undefined && String(declared).replace(/#$/, '') !== schemaDialect) {
    return (
      `it declares "$schema": ${showValue(declared)}, but Tidemark reads JSON Schema 2020-12; ` +
      `set "$schema": "${schemaDialect}" or leave "$schema" out`
    );
  }
  return undefined;
}

/** Ajv's compile errors in the words of this module. */
function explain(message: string): string {
  const keyword = /^strict mode: unknown keyword: "(.*)"$/.exec(message);
  if (keyword) {
    return (
      `unknown keyword "${keyword[1]}" (a typo? vendor annotations such as "x-pii" must be declared with ` +
      'the compiler option `keywords`)'
    );
  }
  const format = /^unknown format "(.*)" ignored in schema at path "(.*)"$/.exec(message);
  if (format)
    return `unknown format "${format[1]}" at ${format[2]}; known formats: ${Object.keys(formats).join(', ')}`;
  return message;
}

export function invalidSchema(where: string, problem: string, cause?: unknown): TidemarkError {
  return new TidemarkError('TM_SCHEMA_INVALID', `${where}: not a valid JSON Schema: ${problem}`, {
    cause,
    context: { where, problem },
  });
}

/** Data path segments of a JSON pointer into `data`: array positions become `[n]`. */
function segmentsOf(pointer: string, data: unknown): { segments: string[]; value: unknown } {
  const segments: string[] = [];
  let value: unknown = data;
  if (pointer === '') return { segments, value };
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(value)) {
      segments.push(`[${token}]`);
      value = value[Number(token)];
    } else {
      segments.push(token);
      value = isObject(value) ? value[token] : undefined;
    }
  }
  return { segments, value };
}

function where(segments: readonly string[]): string {
  return segments.length === 0 ? 'the event data' : `field \`${formatPath(segments)}\``;
}

function issueOf(error: ErrorObject, data: unknown): SchemaIssue {
  const { segments, value } = segmentsOf(error.instancePath, data);
  const params = error.params as Record<string, unknown>;
  const rule = error.keyword;
  const issue = (path: readonly string[], message: string): SchemaIssue => ({
    path: formatPath(path),
    rule,
    message,
    params,
  });
  switch (rule) {
    case 'required': {
      const path = [...segments, String(params.missingProperty)];
      return issue(path, `${where(path)} is missing; the schema requires it (required)`);
    }
    case 'additionalProperties': {
      const path = [...segments, String(params.additionalProperty)];
      return issue(
        path,
        `${where(path)} is not declared and the schema refuses unknown fields (additionalProperties: false)`,
      );
    }
    case 'type':
      return issue(
        segments,
        `${where(segments)} must be of type ${String(params.type)}, got ${showValue(value)} (type)`,
      );
    case 'enum':
      return issue(
        segments,
        `${where(segments)} must be one of ${(params.allowedValues as unknown[]).map(showValue).join(', ')}, got ${showValue(value)} (enum)`,
      );
    case 'const':
      return issue(
        segments,
        `${where(segments)} must be ${showValue(params.allowedValue)}, got ${showValue(value)} (const)`,
      );
    default:
      return issue(
        segments,
        `${where(segments)} ${error.message ?? 'is invalid'}, got ${showValue(value)} (${rule})`,
      );
  }
}

/**
 * Ajv's errors as issues. A failed `anyOf`/`oneOf` becomes one issue that lists why each
 * alternative failed, instead of one issue per alternative.
 */
function issuesOf(errors: readonly ErrorObject[], data: unknown): SchemaIssue[] {
  const unions = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
  const inUnion = (e: ErrorObject) =>
    unions.some((u) => u !== e && e.schemaPath.startsWith(`${u.schemaPath}/`));
  const issues: SchemaIssue[] = [];
  for (const error of errors) {
    if (inUnion(error)) continue;
    if (error.keyword === 'anyOf' || error.keyword === 'oneOf') {
      const reasons = errors
        .filter((e) => e.schemaPath.startsWith(`${error.schemaPath}/`))
        .map((e) => issueOf(e, data).message);
      const base = issueOf(error, data);
      const ambiguous =
        error.keyword === 'oneOf' && (error.params as { passingSchemas?: unknown }).passingSchemas;
      issues.push({
        ...base,
        message: ambiguous
          ? `${where(segmentsOf(error.instancePath, data).segments)} matches more than one alternative (oneOf)`
          : `${where(segmentsOf(error.instancePath, data).segments)} matches none of the alternatives (${error.keyword})` +
            (reasons.length ? `: ${[...new Set(reasons)].join('; ')}` : ''),
      });
      continue;
    }
    issues.push(issueOf(error, data));
  }
  return issues;
}
