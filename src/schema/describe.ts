/**
 * Plain-word sentences for schema differences. A difference is direction-free ("data written
 * with W may be rejected by readers of R"); the sentence depends on which version is newer, so
 * the same finding reads as "became required in v2" (new readers, old data) or "is no longer
 * required in v2, but v1 readers require it" (old readers, new data).
 */
import { formatPath, showValue } from './json.js';
import type { SchemaDifference } from './types.js';

const typeWords: Record<string, string> = {
  null: 'null values',
  boolean: 'booleans',
  object: 'objects',
  array: 'arrays',
  number: 'numbers',
  'non-integer': 'non-whole numbers',
  integer: 'whole numbers',
  string: 'strings',
};

const limitWords: Record<string, string> = {
  minLength: 'shorter strings',
  maxLength: 'longer strings',
  minimum: 'smaller numbers',
  maximum: 'larger numbers',
  minItems: 'shorter arrays',
  maxItems: 'longer arrays',
  minProperties: 'objects with fewer fields',
  maxProperties: 'objects with more fields',
  uniqueItems: 'arrays with repeated items',
};

function list(values: readonly unknown[] | undefined): string {
  if (!values || values.length === 0) return 'no value';
  return values.map(showValue).join(', ');
}

function types(names: unknown): string {
  const all = ['null', 'boolean', 'object', 'array', 'number', 'string'];
  const given = Array.isArray(names) ? (names as string[]) : [];
  if (all.every((t) => given.includes(t))) return 'any type';
  return given.length ? given.join(' or ') : 'no type';
}

/**
 * The sentence for a difference found between the schema of version `writerVersion` (which
 * wrote the data) and that of `readerVersion` (whose readers validate it).
 */
export function describeDifference(
  d: SchemaDifference,
  writerVersion: number,
  readerVersion: number,
): string {
  const p = formatPath(d.path);
  const field = p === '' ? 'the event data' : `field \`${p}\``;
  const object = p === '' ? 'the event data' : `object \`${p}\``;
  const W = `v${writerVersion}`;
  const R = `v${readerVersion}`;
  const newerReader = readerVersion > writerVersion;
  switch (d.kind) {
    case 'required-added':
      if (newerReader) {
        return d.declaredByWriter
          ? `${field} became required in ${R}: events written with ${W} may lack it`
          : `${field} was added as required in ${R}: events written with ${W} lack it`;
      }
      return d.declaredByWriter
        ? `${field} is no longer required in ${W}, but ${R} readers require it: they reject ${W} events that lack it`
        : `${field} was removed in ${W}, but ${R} readers require it: they reject ${W} events, which lack it`;
    case 'field-rejected':
      return newerReader
        ? `${field} was removed in ${R}, whose readers refuse unknown fields (additionalProperties: false): ` +
            `events written with ${W} that carry it are rejected`
        : `${field} was added in ${W}, but ${R} readers refuse unknown fields (additionalProperties: false): ` +
            `they reject ${W} events that carry it`;
    case 'unknown-fields-rejected':
      return d.reader === false
        ? `${object} allows unknown fields in ${W} but ${R} refuses them (additionalProperties: false): ` +
            `${R} readers reject ${W} events that carry extra fields`
        : `${object} allows unknown fields of any kind in ${W} but ${R} restricts them (additionalProperties): ` +
            `${R} readers may reject ${W} events that carry extra fields`;
    case 'type-narrowed': {
      const rejected = (d.rejected ?? []).map((t) => typeWords[String(t)] ?? String(t)).join(' and ');
      return newerReader
        ? `${field} changed type from ${types(d.writer)} to ${types(d.reader)} in ${R}: ${rejected} written with ${W} are rejected`
        : `${field} changed type from ${types(d.reader)} to ${types(d.writer)} in ${W}: ${R} readers reject ${rejected} written with ${W}`;
    }
    case 'values-rejected':
      return newerReader
        ? `${field} no longer allows ${list(d.rejected)} in ${R}: events written with ${W} may carry ${
            (d.rejected?.length ?? 0) > 1 ? 'them' : 'it'
          }`
        : `${field} allows ${list(d.rejected)} in ${W}, which ${R} readers do not accept`;
    case 'values-restricted':
      return newerReader
        ? `${field} is restricted to ${list(d.reader as unknown[])} in ${R}, but ${W} allowed other values: ` +
            `events written with ${W} may carry them`
        : `${field} is no longer restricted to ${list(d.reader as unknown[])} in ${W}: ${R} readers reject other values written with ${W}`;
    case 'limit-tightened': {
      const keyword = d.keyword ?? 'limit';
      const what =
        keyword === 'multipleOf'
          ? `numbers that are not multiples of ${String(d.reader)}`
          : (limitWords[keyword] ?? 'values');
      const writer = d.writer === undefined ? 'none' : String(d.writer);
      const reader = String(d.reader);
      return newerReader
        ? `${field}: ${keyword} tightened from ${writer} to ${reader} in ${R}: ${what} written with ${W} are rejected`
        : `${field}: ${keyword} relaxed from ${reader} to ${writer} in ${W}: ${R} readers reject ${what} written with ${W}`;
    }
    case 'pattern-changed':
    case 'format-changed': {
      const keyword = d.kind === 'pattern-changed' ? 'pattern' : 'format';
      const writer = d.writer === undefined ? 'none' : showValue(d.writer);
      const reader = showValue(d.reader);
      return newerReader
        ? `${field}: ${keyword} changed from ${writer} to ${reader} in ${R}: values written with ${W} may not conform`
        : `${field}: ${keyword} changed from ${reader} to ${writer} in ${W}: ${R} readers reject values that do not conform to ${reader}`;
    }
    case 'nothing-accepted':
      return `${field} is forbidden in ${R} (schema false), but events written with ${W} may carry it`;
    case 'unverifiable':
      return (
        `${field}: \`${d.keyword ?? '?'}\` differs between ${W} and ${R} in a way the checker cannot compare; ` +
        'check the change by hand (and register it with mode NONE if it is safe)'
      );
  }
}
