import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  contentDigest,
  createEnvelope,
  parseEnvelope,
  validateEnvelope,
} from '../../src/envelope/index.js';
import { envelopeInput, rfc3339Text, wireJson } from './arbitraries.js';

/**
 * A deep copy of `value` whose object keys are re-ordered at every level by `order`
 * (a stream of numbers from fast-check). Object.fromEntries keeps a "__proto__" key an own key.
 */
function reordered(value: unknown, order: () => number): unknown {
  if (Array.isArray(value)) return value.map((v) => reordered(v, order));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>).map(
    ([k, v]) => [k, reordered(v, order)] as const,
  );
  for (let i = entries.length - 1; i > 0; i--) {
    const j = order() % (i + 1);
    [entries[i], entries[j]] = [entries[j]!, entries[i]!];
  }
  return Object.fromEntries(entries);
}

/** A function returning the next number of a fast-check generated sequence, cycling. */
const orderStream = fc.array(fc.nat(), { minLength: 1, maxLength: 32 }).map((numbers) => {
  let i = 0;
  return () => numbers[i++ % numbers.length]!;
});

describe('canonicalJson', () => {
  it('given the same value with its keys in any order, then the text is the same', () => {
    fc.assert(
      fc.property(wireJson(4), orderStream, (value, order) => {
        expect(canonicalJson(reordered(value, order))).toBe(canonicalJson(value));
      }),
      { numRuns: 500 },
    );
  });

  it('given deep-equal values that share no objects, then the text is the same', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
        const copy = structuredClone(value);
        expect(copy).toStrictEqual(value);
        expect(canonicalJson(copy)).toBe(canonicalJson(value));
      }),
      { numRuns: 500 },
    );
  });

  it('given any JSON value, then the text is JSON for an equal value with keys sorted at every level', () => {
    fc.assert(
      fc.property(wireJson(4), (value) => {
        const text = canonicalJson(value);
        expect(JSON.parse(text)).toEqual(value);
        const sortedEverywhere = (v: unknown): boolean =>
          Array.isArray(v)
            ? v.every(sortedEverywhere)
            : v === null || typeof v !== 'object'
              ? true
              : Object.keys(v).every((k, i, keys) => i === 0 || keys[i - 1]! < k) &&
                Object.values(v).every(sortedEverywhere);
        expect(sortedEverywhere(JSON.parse(text))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('given members that are undefined, then they are left out, as JSON.stringify does', () => {
    expect(canonicalJson({ b: 1, a: undefined, c: [undefined, 2] })).toBe('{"b":1,"c":[null,2]}');
    expect(canonicalJson({ b: 1 })).toBe(canonicalJson({ b: 1, a: undefined }));
  });
});

describe('contentDigest', () => {
  it('is the hex SHA-256 of the canonical JSON', () => {
    const value = { z: [1, { y: 'ü' }], a: null };
    expect(contentDigest(value)).toBe(createHash('sha256').update(canonicalJson(value)).digest('hex'));
    expect(contentDigest(value)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('given distinct values, then their digests differ', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(wireJson(3), { minLength: 2, maxLength: 8, selector: canonicalJson }),
        (values) => {
          const digests = values.map(contentDigest);
          expect(new Set(digests).size).toBe(values.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('given values that differ by one leaf, then their digests differ', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), wireJson(2), { minKeys: 1 }),
        wireJson(1),
        fc.nat(),
        (record, replacement, pick) => {
          const keys = Object.keys(record);
          const key = keys[pick % keys.length]!;
          fc.pre(canonicalJson(record[key]) !== canonicalJson(replacement));
          const changed = Object.fromEntries(
            Object.entries(record).map(([k, v]) => [k, k === key ? replacement : v]),
          );
          expect(contentDigest(changed)).not.toBe(contentDigest(record));
        },
      ),
      { numRuns: 300 },
    );
  });

  it.each([
    [1, '1'],
    [
      [1, 2],
      [2, 1],
    ],
    [{ a: [] }, { a: {} }],
    [{ a: null }, {}],
    [{ a: 'b' }, { b: 'a' }],
    [true, 'true'],
    ['ü', 'u\u0308'],
  ])('given %j and %j, then their digests differ', (a, b) => {
    expect(contentDigest(a)).not.toBe(contentDigest(b));
  });
});

describe('createEnvelope → JSON.stringify → parseEnvelope', () => {
  it('given any valid input, then the envelope round-trips to an equal envelope with the same digest', () => {
    fc.assert(
      fc.property(envelopeInput({ textTimes: true }), (input) => {
        const envelope = createEnvelope(input);
        const back = parseEnvelope(JSON.stringify(envelope));
        expect(back).toStrictEqual(envelope);
        expect(contentDigest(back)).toBe(contentDigest(envelope));
      }),
      { numRuns: 500 },
    );
  });

  it('given any valid input, then every input value lands unchanged in its attribute', () => {
    fc.assert(
      fc.property(envelopeInput({ textTimes: true }), (input) => {
        const envelope = parseEnvelope(JSON.stringify(createEnvelope(input)));
        const text = (t: Date | string | undefined) => (t instanceof Date ? t.toISOString() : t);
        expect(envelope.eventkind).toBe(input.kind);
        expect(envelope.authority).toBe(input.authority);
        expect(envelope.entitytype).toBe(input.entityType);
        expect(envelope.entityid).toBe(input.entityId);
        expect(envelope.subject).toBe(input.entityId);
        expect(envelope.entityversion).toBe(input.entityVersion);
        if (input.id !== undefined) expect(envelope.id).toBe(input.id);
        if (input.type !== undefined) expect(envelope.type).toBe(input.type);
        if (input.time !== undefined) expect(envelope.time).toBe(text(input.time));
        expect(envelope.partitionkey).toBe(input.partitionKey ?? `${input.entityType}/${input.entityId}`);
        expect(envelope.correlationid).toBe(input.correlationId);
        expect(envelope.causationid).toBe(input.causationId);
        expect(envelope.effectivetime).toBe(text(input.effectiveTime));
        expect(envelope.traceparent).toBe(input.traceparent);
        expect(envelope.schemaversion).toBe(input.schemaVersion);
        expect(envelope.data).toStrictEqual(input.data);
      }),
      { numRuns: 300 },
    );
  });

  it('given any RFC 3339 text with every field in range, then the validator accepts it as time', () => {
    const base = createEnvelope({
      kind: 'notice',
      authority: 'a',
      entityType: 't',
      entityId: 'i',
      entityVersion: 1,
    });
    fc.assert(
      fc.property(rfc3339Text(), (time) => {
        expect(validateEnvelope({ ...base, time })).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });
});
