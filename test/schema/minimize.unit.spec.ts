/**
 * Field projection, PII tags and per-reader minimisation, including a property test: whatever
 * the payload, a reader never gets a field outside its allow-list, nor PII it was not granted.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { minimizeData } from '../../src/schema/minimize.js';
import { piiKeyword, piiPaths } from '../../src/schema/pii.js';
import { omitFields, projectFields } from '../../src/schema/projection.js';
import { createSchemaSet } from '../../src/schema/schema-set.js';
import { createSchemaCompiler } from '../../src/schema/compile.js';

/** Every dotted path present in a value (arrays transparent), leaves and objects alike. */
function pathsOf(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((item) => pathsOf(item, prefix));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([name, inner]) => {
    const path = prefix ? `${prefix}.${name}` : name;
    return [path, ...pathsOf(inner, path)];
  });
}

describe('projectFields', () => {
  const value = { a: 1, b: { c: 2, d: 3 }, e: [{ f: 1, g: 2 }, { f: 3 }], h: null };

  it('keeps named top-level fields and named parts of objects and of array elements', () => {
    expect(projectFields(value, ['a', 'b.c', 'e.f', 'missing', 'h'])).toEqual({
      a: 1,
      b: { c: 2 },
      e: [{ f: 1 }, { f: 3 }],
      h: null,
    });
  });

  it('a whole object named wins over a part of it, in any order', () => {
    expect(projectFields(value, ['b.c', 'b'])).toEqual({ b: { c: 2, d: 3 } });
    expect(projectFields(value, ['b', 'b.c'])).toEqual({ b: { c: 2, d: 3 } });
  });

  it('gives {} for data that is no object, and does not change its input', () => {
    expect(projectFields('text', ['a'])).toEqual({});
    expect(projectFields([1, 2], ['a'])).toEqual({});
    const copy = structuredClone(value);
    projectFields(value, ['b.c']);
    omitFields(value, ['b.c', 'a']);
    expect(value).toEqual(copy);
  });

  it('omitFields removes the named paths at any depth', () => {
    expect(omitFields(value, ['a', 'b.d', 'e.g'])).toEqual({ b: { c: 2 }, e: [{ f: 1 }, { f: 3 }], h: null });
  });
});

describe('piiPaths', () => {
  it('finds tags through properties, $ref, allOf/anyOf, items and prefixItems', () => {
    const schema = {
      type: 'object',
      properties: {
        name: { type: 'string', [piiKeyword]: true },
        email: { $ref: '#/$defs/email' },
        address: { $ref: '#/$defs/address' },
        contacts: { type: 'array', items: { properties: { phone: { [piiKeyword]: true } } } },
        pair: { prefixItems: [{ properties: { ssn: { [piiKeyword]: true } } }] },
        extra: { allOf: [{ properties: { dob: { [piiKeyword]: true } } }] },
        either: { anyOf: [{ properties: { iban: { [piiKeyword]: true } } }, { type: 'null' }] },
        plain: { type: 'string', [piiKeyword]: false },
      },
      $defs: {
        email: { type: 'string', [piiKeyword]: true },
        address: { type: 'object', properties: { street: { [piiKeyword]: true }, city: {} } },
        loop: { properties: { self: { $ref: '#/$defs/loop' } } },
      },
    };
    expect(piiPaths(schema)).toEqual([
      'address.street',
      'contacts.phone',
      'either.iban',
      'email',
      'extra.dob',
      'name',
      'pair.ssn',
    ]);
    expect(piiPaths({ $ref: '#/$defs/loop', $defs: schema.$defs })).toEqual([]);
    expect(piiPaths(true)).toEqual([]);
  });
});

describe('minimizeData (property)', () => {
  const compiler = createSchemaCompiler({ keywords: [piiKeyword] });
  const schema = {
    type: 'object',
    properties: {
      id: { type: 'string' },
      name: { [piiKeyword]: true },
      address: { type: 'object', properties: { city: {}, street: { [piiKeyword]: true } } },
      lines: { type: 'array', items: { type: 'object', properties: { note: { [piiKeyword]: true } } } },
    },
  };
  const schemas = createSchemaSet([{ type: 't.Changed', version: 1, schema }], { compiler });
  const pii = piiPaths(schema);
  const names = ['id', 'name', 'address', 'city', 'street', 'lines', 'note', 'other'];
  const json = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.string(),
      fc.integer(),
      fc.constant(null),
      tie('object'),
      fc.array(tie('object'), { maxLength: 3 }),
    ),
    object: fc.dictionary(fc.constantFrom(...names), tie('value'), { maxKeys: 5 }),
  })).object;
  const allowList = fc.uniqueArray(
    fc.constantFrom(
      'id',
      'name',
      'address',
      'address.city',
      'address.street',
      'lines',
      'lines.note',
      'other',
    ),
    { maxLength: 5 },
  );

  it('never hands a reader a field outside its allow-list, nor PII it did not name', () => {
    fc.assert(
      fc.property(json, fc.option(allowList, { nil: undefined }), (data, allowed) => {
        const policy = { schemas, ...(allowed ? { fields: { t: allowed } } : {}) };
        const envelope = { type: 't.Changed', entitytype: 't', schemaversion: 1, data };
        const seen = pathsOf(minimizeData(policy, envelope));
        for (const path of seen) {
          if (allowed) {
            // Each path is inside an allowed entry, or on the way to one.
            const inside = allowed.some(
              (entry) => path === entry || path.startsWith(`${entry}.`) || entry.startsWith(`${path}.`),
            );
            expect(inside, `${path} reached a reader allowed only ${allowed.join(', ')}`).toBe(true);
          }
          for (const tagged of pii) {
            if (path === tagged || path.startsWith(`${tagged}.`)) {
              const granted =
                allowed?.some((entry) => entry === tagged || entry.startsWith(`${tagged}.`)) ?? false;
              expect(granted, `PII ${path} reached a reader that did not name it`).toBe(true);
            }
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('keeps everything allowed that was there', () => {
    fc.assert(
      fc.property(json, (data) => {
        const result = minimizeData(
          { schemas, fields: { t: ['id', 'other'] } },
          { type: 't.Changed', entitytype: 't', schemaversion: 1, data },
        );
        expect(result).toEqual(projectFields(data, ['id', 'other']));
      }),
    );
  });
});
