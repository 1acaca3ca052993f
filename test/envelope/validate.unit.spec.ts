import { describe, expect, it } from 'vitest';
import {
  createEnvelope,
  parseEnvelope,
  validateEnvelope,
  type EnvelopeIssue,
} from '../../src/envelope/index.js';
import { TidemarkError } from '../../src/errors.js';

/** A known-good envelope as plain JSON data, to spoil one attribute at a time. */
function valid(): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify(
      createEnvelope({
        kind: 'state',
        authority: 'customer-profile',
        entityType: 'customer',
        entityId: 'c-1',
        entityVersion: 3,
        data: { city: 'Leeds' },
        time: '2026-01-31T12:00:00Z',
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      }),
    ),
  ) as Record<string, unknown>;
}

function spoil(patch: Record<string, unknown>, remove: string[] = []): Record<string, unknown> {
  const envelope = { ...valid(), ...patch };
  for (const attribute of remove) delete envelope[attribute];
  return envelope;
}

function parseError(input: unknown): TidemarkError {
  try {
    parseEnvelope(input);
  } catch (error) {
    if (error instanceof TidemarkError) return error;
    throw error;
  }
  throw new Error('parseEnvelope accepted the input');
}

interface Case {
  readonly name: string;
  readonly input: unknown;
  readonly attribute: string;
  /** A phrase the `expected` text must contain. */
  readonly expected: string;
  /** A phrase the `actual` text must contain. */
  readonly actual: string;
}

const cases: readonly Case[] = [
  {
    name: 'missing id',
    input: spoil({}, ['id']),
    attribute: 'id',
    expected: 'a non-empty string',
    actual: 'nothing (attribute missing)',
  },
  {
    name: 'empty id',
    input: spoil({ id: '' }),
    attribute: 'id',
    expected: 'a non-empty string',
    actual: 'the string ""',
  },
  {
    name: 'wrong specversion',
    input: spoil({ specversion: '0.3' }),
    attribute: 'specversion',
    expected: '"1.0"',
    actual: 'the string "0.3"',
  },
  {
    name: 'entityversion 0',
    input: spoil({ entityversion: 0 }),
    attribute: 'entityversion',
    expected: 'an integer from 1 to 2147483647',
    actual: 'the number 0',
  },
  {
    name: 'entityversion 1.5',
    input: spoil({ entityversion: 1.5 }),
    attribute: 'entityversion',
    expected: 'an integer from 1 to 2147483647',
    actual: 'the number 1.5',
  },
  {
    name: 'entityversion "3" (a string)',
    input: spoil({ entityversion: '3' }),
    attribute: 'entityversion',
    expected: 'an integer from 1 to 2147483647',
    actual: 'the string "3"',
  },
  {
    name: 'entityversion beyond the CloudEvents integer range',
    input: spoil({ entityversion: 2_147_483_648 }),
    attribute: 'entityversion',
    expected: 'an integer from 1 to 2147483647',
    actual: 'the number 2147483648',
  },
  {
    name: 'time that is not RFC 3339',
    input: spoil({ time: '31/01/2026 12:00' }),
    attribute: 'time',
    expected: 'an RFC 3339 timestamp',
    actual: 'the string "31/01/2026 12:00"',
  },
  {
    name: 'time without a zone offset',
    input: spoil({ time: '2026-01-31T12:00:00' }),
    attribute: 'time',
    expected: 'an RFC 3339 timestamp',
    actual: 'the string "2026-01-31T12:00:00"',
  },
  {
    name: 'time on a day the month does not have (Date.parse would roll it to 2 March)',
    input: spoil({ time: '2026-02-30T12:00:00Z' }),
    attribute: 'time',
    expected: 'an RFC 3339 timestamp',
    actual: '2026-02-30',
  },
  {
    name: 'time at hour 24 (Date.parse would read the next midnight)',
    input: spoil({ time: '2026-01-31T24:00:00Z' }),
    attribute: 'time',
    expected: 'an RFC 3339 timestamp',
    actual: 'T24:00:00Z',
  },
  {
    name: 'effectivetime on 29 February of a common year',
    input: spoil({ effectivetime: '2027-02-29T00:00:00Z' }),
    attribute: 'effectivetime',
    expected: 'an RFC 3339 timestamp',
    actual: '2027-02-29',
  },
  {
    name: 'bad traceparent',
    input: spoil({ traceparent: '00-xyz-01' }),
    attribute: 'traceparent',
    expected: 'a W3C traceparent',
    actual: 'the string "00-xyz-01"',
  },
  {
    name: 'upper-case traceparent (W3C requires lower-case hex)',
    input: spoil({ traceparent: '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01' }),
    attribute: 'traceparent',
    expected: 'a W3C traceparent',
    actual: '4BF92F',
  },
  {
    name: 'unknown eventkind',
    input: spoil({ eventkind: 'snapshot' }),
    attribute: 'eventkind',
    expected: 'one of "domain", "state", "notice", "tombstone"',
    actual: 'the string "snapshot"',
  },
  {
    name: 'tombstone with data',
    input: spoil({ eventkind: 'tombstone', data: { city: 'Leeds' } }),
    attribute: 'data',
    expected: 'no data on a tombstone',
    actual: 'a value of type object',
  },
  {
    name: 'extension attribute name with upper case and a hyphen',
    input: spoil({ 'Tenant-Id': 'acme' }),
    attribute: 'Tenant-Id',
    expected: '1-20 lower-case letters or digits',
    actual: 'the string "Tenant-Id"',
  },
  {
    name: 'extension attribute name longer than 20 characters',
    input: spoil({ abcdefghijklmnopqrstu: 'x' }),
    attribute: 'abcdefghijklmnopqrstu',
    expected: '1-20 lower-case letters or digits',
    actual: 'abcdefghijklmnopqrstu',
  },
  {
    name: 'extension value that is not an integer (the cloudevents SDK rejects 1.5)',
    input: spoil({ priority: 1.5 }),
    attribute: 'priority',
    expected: 'CloudEvents type system',
    actual: 'the number 1.5',
  },
  {
    name: 'extension value that is an object',
    input: spoil({ tenant: { id: 'acme' } }),
    attribute: 'tenant',
    expected: 'a string, a boolean or an integer',
    actual: 'a value of type object',
  },
  {
    name: 'source that is not a URI-reference',
    input: spoil({ source: '/contexts/customer profile' }),
    attribute: 'source',
    expected: 'URI-reference',
    actual: 'the string "/contexts/customer profile"',
  },
  {
    name: 'source with a broken percent escape',
    input: spoil({ source: '/contexts/%zz' }),
    attribute: 'source',
    expected: 'URI-reference',
    actual: '%zz',
  },
  {
    name: 'dataschema that is not an absolute URI',
    input: spoil({ dataschema: 'customer v2' }),
    attribute: 'dataschema',
    expected: 'an absolute URI',
    actual: 'the string "customer v2"',
  },
  {
    name: 'subject different from entityid',
    input: spoil({ subject: 'c-2' }),
    attribute: 'subject',
    expected: 'the entity id "c-1"',
    actual: 'the string "c-2"',
  },
  {
    name: 'datacontenttype other than JSON',
    input: spoil({ datacontenttype: 'text/xml' }),
    attribute: 'datacontenttype',
    expected: '"application/json"',
    actual: 'the string "text/xml"',
  },
  {
    name: 'non-object input: an array',
    input: [valid()],
    attribute: '(envelope)',
    expected: 'a JSON object',
    actual: 'an array',
  },
  {
    name: 'non-object input: null',
    input: null,
    attribute: '(envelope)',
    expected: 'a JSON object',
    actual: 'null',
  },
  {
    name: 'non-object input: a number',
    input: 42,
    attribute: '(envelope)',
    expected: 'a JSON object',
    actual: 'the number 42',
  },
];

describe('validateEnvelope', () => {
  it('given a valid envelope, then it reports no issues', () => {
    expect(validateEnvelope(valid())).toEqual([]);
  });

  it.each([
    ['a zone offset', '2026-01-31T12:00:00+05:30'],
    ['fractional seconds', '2026-01-31T12:00:00.123456789Z'],
    ['lower-case t and z (RFC 3339 allows them)', '2026-01-31t12:00:00z'],
    ['29 February of a leap year', '2028-02-29T00:00:00Z'],
    ['29 February of year 2000', '2000-02-29T00:00:00Z'],
    ['the last second of a year', '2026-12-31T23:59:59Z'],
  ])('given a time with %s, then it is accepted', (_what, time) => {
    expect(validateEnvelope(spoil({ time }))).toEqual([]);
  });

  it.each([
    ['a URN', 'urn:tidemark:customer-profile'],
    ['an absolute URL', 'https://example.com/contexts/customer-profile'],
    ['a percent-encoded path', '/contexts/Kundenprofil%20S%C3%BCd'],
  ])('given a source that is %s, then it is accepted', (_what, source) => {
    expect(validateEnvelope(spoil({ source }))).toEqual([]);
  });

  it('given extension attributes of the CloudEvents types, then they are accepted', () => {
    expect(
      validateEnvelope(
        spoil({
          tenant: 'acme',
          replay: true,
          priority: -3,
          dataschema: 'https://schemas.example.com/customer/v2',
        }),
      ),
    ).toEqual([]);
  });

  it('given a decoded value with undefined members, then they count as absent, as in JSON', () => {
    // Regression: CloudEvent#toJSON() returns `data_base64: undefined` and friends, and the
    // attribute-name rule rejected "data_base64" although the member says nothing.
    expect(
      validateEnvelope(spoil({ data_base64: undefined, schemaurl: undefined, correlationid: undefined })),
    ).toEqual([]);
  });

  it('given a tombstone with null data, then it is accepted', () => {
    expect(validateEnvelope(spoil({ eventkind: 'tombstone', data: null }))).toEqual([]);
  });

  it.each(cases)(
    'given $name, then the issue names $attribute and says what was expected',
    ({ input, attribute, expected, actual }) => {
      const issues = validateEnvelope(input);
      const issue = issues.find((i) => i.attribute === attribute);
      expect(issue, JSON.stringify(issues)).toBeDefined();
      expect(issue!.expected).toContain(expected);
      expect(issue!.actual).toContain(actual);
    },
  );

  it('given an envelope that is wrong in several ways, then it reports every attribute, not just the first', () => {
    const issues = validateEnvelope(spoil({ specversion: '0.3', entityversion: 0 }, ['id']));
    expect(issues.map((i) => i.attribute).sort()).toEqual(['entityversion', 'id', 'specversion']);
  });
});

describe('parseEnvelope', () => {
  it('given valid JSON text, then it returns the envelope', () => {
    const text = JSON.stringify(valid());
    expect(parseEnvelope(text)).toEqual(JSON.parse(text));
  });

  it('given a valid decoded value, then it returns that same value', () => {
    const envelope = valid();
    expect(parseEnvelope(envelope)).toBe(envelope);
  });

  it.each(cases)(
    'given $name, then it throws TM_ENVELOPE_INVALID whose message quotes $attribute',
    ({ input, attribute, expected }) => {
      const error = parseError(input);
      expect(error.code).toBe('TM_ENVELOPE_INVALID');
      expect(error.status).toBe(400);
      expect(error.retryable).toBe(false);
      expect(error.message).toContain(`${attribute}: expected `);
      expect(error.message).toContain(expected);
      expect(error.context.issues as EnvelopeIssue[]).toEqual(validateEnvelope(input));
    },
  );

  it('given the same bad input as JSON text, then it reports the same issues', () => {
    const input = spoil({ entityversion: '3' });
    const error = parseError(JSON.stringify(input));
    expect(error.context.issues).toEqual(validateEnvelope(input));
  });

  it.each(['{"specversion": "1.0",', 'not json', ''])(
    'given unparseable JSON text %j, then it throws TM_ENVELOPE_INVALID naming (envelope) and keeps the cause',
    (text) => {
      const error = parseError(text);
      expect(error.code).toBe('TM_ENVELOPE_INVALID');
      expect(error.message).toMatch(/^envelope is not valid JSON: /);
      expect(error.context.issues).toEqual([
        { attribute: '(envelope)', expected: 'JSON text', actual: 'unparseable text' },
      ]);
      expect(error.cause).toBeInstanceOf(SyntaxError);
    },
  );

  it('given a very long bad value, then the message quotes it shortened', () => {
    const error = parseError(spoil({ eventkind: 'x'.repeat(500) }));
    expect(error.message).toContain(`the string "${'x'.repeat(60)}…"`);
    expect(error.message.length).toBeLessThan(400);
  });
});
