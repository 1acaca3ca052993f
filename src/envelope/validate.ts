import { TidemarkError } from '../errors.js';
import { eventKinds, type Envelope } from './types.js';

/** One reason an envelope is invalid: which attribute, what was expected, what was found. */
export interface EnvelopeIssue {
  readonly attribute: string;
  readonly expected: string;
  readonly actual: string;
}

const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;
const traceparentPattern = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const extensionName = /^[a-z0-9]{1,20}$/;

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
const timestamp: Check = (v) =>
  typeof v === 'string' && rfc3339.test(v) && !Number.isNaN(Date.parse(v))
    ? undefined
    : 'an RFC 3339 timestamp such as "2026-01-31T12:00:00Z"';
const positiveInteger: Check = (v) =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 && v <= 2_147_483_647
    ? undefined
    : 'an integer from 1 to 2147483647';

const required: Record<string, Check> = {
  specversion: (v) => (v === '1.0' ? undefined : 'the string "1.0" (CloudEvents 1.0)'),
  id: nonEmptyString,
  source: nonEmptyString,
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
};

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
  for (const name of Object.keys(record)) {
    if (name !== 'data' && !extensionName.test(name)) {
      issues.push({
        attribute: name,
        expected: 'an attribute name of 1-20 lower-case letters or digits (CloudEvents naming rule)',
        actual: describe(name),
      });
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
  if (issues.length > 0) {
    const detail = issues.map((i) => `${i.attribute}: expected ${i.expected}, got ${i.actual}`).join('; ');
    throw new TidemarkError('TM_ENVELOPE_INVALID', `invalid envelope: ${detail}`, { context: { issues } });
  }
  return value as Envelope<TData>;
}
