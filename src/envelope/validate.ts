import { TidemarkError } from '../errors.js';
import { findUnstorableText } from './storable.js';
import { eventKinds, type Envelope } from './types.js';

/** One reason an envelope is invalid: which attribute, what was expected, what was found. */
export interface EnvelopeIssue {
  readonly attribute: string;
  readonly expected: string;
  readonly actual: string;
}

const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-](\d{2}):(\d{2}))$/i;
const traceparentPattern = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const extensionName = /^[a-z0-9]{1,20}$/;
/** Characters RFC 3986 allows in a URI reference, with well-formed percent escapes. */
const uriCharacters = /^(?:[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$/;
const uriScheme = /^[A-Za-z][A-Za-z0-9+.-]*:/;

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (attribute missing)';
  if (value === null) return 'null';
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)}`;
  if (typeof value === 'number') return `the number ${value}`;
  if (Array.isArray(value)) return 'an array';
  return `a value of type ${typeof value}`;
}

type Check = (value: unknown) => string | undefined;

const nonEmptyString: Check = (v) =>
  typeof v === 'string' && v.length > 0 ? undefined : 'a non-empty string';
/**
 * RFC 3339 `date-time`, every field in range. `Date.parse` alone is not enough: it rolls
 * "2026-02-30" over to 2 March and reads "24:00:00" as the next midnight, instants the text
 * does not name (and that CloudEvents SDKs reject). Leap seconds (":60") are refused because
 * a JavaScript Date cannot represent them.
 */
function isTimestamp(text: string): boolean {
  const match = rfc3339.exec(text);
  if (!match) return false;
  const [year, month, day, hour, minute, second, offsetHour, offsetMinute] = [1, 2, 3, 4, 5, 6, 9, 10].map(
    (group) => Number(match[group] ?? 0),
  ) as [number, number, number, number, number, number, number, number];
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const daysInMonth = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
  return (
    day >= 1 &&
    day <= daysInMonth &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    offsetHour <= 23 &&
    offsetMinute <= 59 &&
    !Number.isNaN(Date.parse(text))
  );
}

/**
 * CloudEvents requires `source` to be a URI-reference (RFC 3986). This checks the character
 * set, percent escapes, the scheme when the first segment has a colon, and a single fragment;
 * it does not parse hosts and ports.
 */
function isUriReference(text: string): boolean {
  if (!uriCharacters.test(text) || text.indexOf('#') !== text.lastIndexOf('#')) return false;
  const firstSegment = /^[^/?#]*/.exec(text)?.[0] ?? '';
  return !firstSegment.includes(':') || uriScheme.test(text);
}

const timestamp: Check = (v) =>
  typeof v === 'string' && isTimestamp(v)
    ? undefined
    : 'an RFC 3339 timestamp such as "2026-01-31T12:00:00Z"';
const positiveInteger: Check = (v) =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 && v <= 2_147_483_647
    ? undefined
    : 'an integer from 1 to 2147483647';

const required: Record<string, Check> = {
  specversion: (v) => (v === '1.0' ? undefined : 'the string "1.0" (CloudEvents 1.0)'),
  id: nonEmptyString,
  source: (v) =>
    typeof v === 'string' && v.length > 0 && isUriReference(v)
      ? undefined
      : 'a non-empty URI-reference such as "/contexts/customer-profile" (RFC 3986; percent-encode spaces and non-ASCII)',
  type: nonEmptyString,
  time: timestamp,
  datacontenttype: (v) => (v === 'application/json' ? undefined : 'the string "application/json"'),
  subject: nonEmptyString,
  eventkind: (v) =>
    typeof v === 'string' && (eventKinds as readonly string[]).includes(v)
      ? undefined
      : `one of ${eventKinds.map((k) => `"${k}"`).join(', ')}`,
  entitytype: nonEmptyString,
  entityid: nonEmptyString,
  entityversion: positiveInteger,
  partitionkey: nonEmptyString,
  authority: nonEmptyString,
};

const optional: Record<string, Check> = {
  correlationid: nonEmptyString,
  causationid: nonEmptyString,
  effectivetime: timestamp,
  traceparent: (v) =>
    typeof v === 'string' && traceparentPattern.test(v)
      ? undefined
      : 'a W3C traceparent such as "00-<32 hex>-<16 hex>-01"',
  schemaversion: positiveInteger,
  // A CloudEvents 1.0 core attribute Tidemark does not set, checked so a foreign one is sound.
  dataschema: (v) =>
    typeof v === 'string' && uriScheme.test(v) && isUriReference(v)
      ? undefined
      : 'an absolute URI such as "https://schemas.example.com/customer/v2"',
};

/** Any other extension attribute must hold a value of the CloudEvents type system. */
const extensionValue: Check = (v) =>
  typeof v === 'string' ||
  typeof v === 'boolean' ||
  (typeof v === 'number' && Number.isInteger(v) && v >= -2_147_483_648 && v <= 2_147_483_647)
    ? undefined
    : 'a string, a boolean or an integer from -2147483648 to 2147483647 (CloudEvents type system)';

/** Lists every problem with `value` as a Tidemark envelope; empty when it is valid. */
export function validateEnvelope(value: unknown): EnvelopeIssue[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return [{ attribute: '(envelope)', expected: 'a JSON object', actual: describe(value) }];
  }
  const record = value as Record<string, unknown>;
  const issues: EnvelopeIssue[] = [];
  for (const [attribute, check] of Object.entries(required)) {
    const expected = check(record[attribute]);
    if (expected) issues.push({ attribute, expected, actual: describe(record[attribute]) });
  }
  for (const [attribute, check] of Object.entries(optional)) {
    if (record[attribute] === undefined) continue;
    const expected = check(record[attribute]);
    if (expected) issues.push({ attribute, expected, actual: describe(record[attribute]) });
  }
  if (
    typeof record.entityid === 'string' &&
    record.subject !== undefined &&
    record.subject !== record.entityid
  ) {
    issues.push({
      attribute: 'subject',
      expected: `the entity id "${record.entityid}"`,
      actual: describe(record.subject),
    });
  }
  if (record.eventkind === 'tombstone' && record.data !== undefined && record.data !== null) {
    issues.push({ attribute: 'data', expected: 'no data on a tombstone', actual: describe(record.data) });
  }
  for (const [name, member] of Object.entries(record)) {
    const unstorable = findUnstorableText(member, name);
    if (unstorable) {
      issues.push({
        attribute: unstorable.path,
        expected: 'text PostgreSQL can store (no U+0000, no lone UTF-16 surrogate)',
        actual: unstorable.problem,
      });
    }
  }
  for (const name of Object.keys(record)) {
    // An undefined member is an absent one, as in JSON.stringify (the SDK's toJSON() has several).
    if (name === 'data' || record[name] === undefined) continue;
    if (!extensionName.test(name)) {
      issues.push({
        attribute: name,
        expected: 'an attribute name of 1-20 lower-case letters or digits (CloudEvents naming rule)',
        actual: describe(name),
      });
    } else if (!Object.hasOwn(required, name) && !Object.hasOwn(optional, name)) {
      const expected = extensionValue(record[name]);
      if (expected) issues.push({ attribute: name, expected, actual: describe(record[name]) });
    }
  }
  return issues;
}

/**
 * Parses a JSON text or an already-decoded value into an {@link Envelope}.
 * @throws TidemarkError `TM_ENVELOPE_INVALID` naming each attribute that is wrong.
 */
export function parseEnvelope<TData = unknown>(input: unknown): Envelope<TData> {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (cause) {
      throw new TidemarkError(
        'TM_ENVELOPE_INVALID',
        `envelope is not valid JSON: ${(cause as Error).message}`,
        {
          cause,
          context: {
            issues: [{ attribute: '(envelope)', expected: 'JSON text', actual: 'unparseable text' }],
          },
        },
      );
    }
  }
  const issues = validateEnvelope(value);
  if (issues.length > 0) throw invalidEnvelope(issues);
  return value as Envelope<TData>;
}

/** The `TM_ENVELOPE_INVALID` error for `issues`; its message quotes each attribute. Internal. */
export function invalidEnvelope(issues: readonly EnvelopeIssue[], cause?: unknown): TidemarkError {
  const detail = issues.map((i) => `${i.attribute}: expected ${i.expected}, got ${i.actual}`).join('; ');
  return new TidemarkError('TM_ENVELOPE_INVALID', `invalid envelope: ${detail}`, {
    cause,
    context: { issues },
  });
}
