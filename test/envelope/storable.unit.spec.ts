import { describe, expect, it } from 'vitest';
import { createEnvelope, validateEnvelope } from '../../src/envelope/index.js';
import { storableJson } from '../../src/envelope/storable.js';

const envelope = (data: unknown) => ({
  ...createEnvelope({
    kind: 'state',
    authority: 'profile',
    entityType: 'customer',
    entityId: 'c-1',
    entityVersion: 1,
    data: {},
  }),
  data,
});

describe('text jsonb cannot store', () => {
  it('names the path of a NUL or a lone surrogate in the data, and what is wrong with it', () => {
    expect(validateEnvelope(envelope({ address: { line1: 'Harbour\u0000Road' } }))).toEqual([
      {
        attribute: 'data.address.line1',
        expected: 'text PostgreSQL can store (no U+0000, no lone UTF-16 surrogate)',
        actual: 'a string containing U+0000 (NUL)',
      },
    ]);
    expect(validateEnvelope(envelope({ tags: ['ok', 'half \uD83D'] }))[0]).toMatchObject({
      attribute: 'data.tags[1]',
      actual: 'a string containing a lone UTF-16 surrogate',
    });
    expect(validateEnvelope(envelope({ ['bad\u0000key']: 1 }))[0]?.attribute).toBe(
      'data (member name "bad\\u0000key")',
    );
  });

  it('accepts paired surrogates (emoji), escapes and text that merely spells \\u0000', () => {
    expect(validateEnvelope(envelope({ name: 'Ada 👩‍🚀', literal: '\\u0000', nested: [{ a: 'é' }] }))).toEqual(
      [],
    );
  });

  it('refuses it in an attribute too', () => {
    expect(validateEnvelope({ ...envelope({}), correlationid: 'x\u0000' }).map((i) => i.attribute)).toContain(
      'correlationid',
    );
  });

  it('storableJson keeps everything else and replaces only what cannot be stored', () => {
    const stored = JSON.parse(storableJson({ a: 'x\u0000y', b: ['\uDC00', 'ok'], ['k\u0000']: 'v', n: 1 }));
    expect(stored).toEqual({ a: 'x\uFFFDy', b: ['\uFFFD', 'ok'], ['k\uFFFD']: 'v', n: 1 });
  });
});
