/**
 * Soundness of the compatibility checker, by property: whenever it finds no difference between
 * a writer schema W and a reader schema R, every value valid under W (following the
 * convention that unknown fields never reuse a name R declares) is valid under R, as judged by
 * ajv itself. Random schemas come from a small grammar (types, nullable unions, enums, limits,
 * nested objects with required fields and additionalProperties, arrays); R is often a mutation
 * of W so that many pairs are compatible and the property is not vacuous.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSchemaCompiler } from '../../src/schema/compile.js';
import { compareSchemas } from '../../src/schema/compare.js';

type Schema = Record<string, unknown>;
const names = ['a', 'b', 'c'] as const;
const strings = ['', 'x', 'yy', 'zzz', 'abcd'];

const leaf: fc.Arbitrary<Schema> = fc.oneof(
  fc.record(
    {
      type: fc.constant('string'),
      maxLength: fc.integer({ min: 1, max: 4 }),
      minLength: fc.integer({ min: 0, max: 2 }),
    },
    { requiredKeys: ['type'] },
  ),
  fc.record({
    enum: fc.uniqueArray(fc.constantFrom('x', 'yy', 'zzz', null, 1), { minLength: 1, maxLength: 3 }),
  }),
  fc.record({ const: fc.constantFrom('x', 2) }),
  fc.record(
    {
      type: fc.constantFrom('integer', 'number', ['integer', 'null'], ['number', 'string']),
      minimum: fc.constantFrom(0, 1),
      maximum: fc.constantFrom(5, 10),
      exclusiveMaximum: fc.constantFrom(5, 10),
    },
    { requiredKeys: ['type'] },
  ),
  fc.constantFrom<Schema>({ type: 'boolean' }, { type: ['string', 'null'] }, { type: 'null' }, {}),
);

/** An object option of a oneOf with a required discriminator `kind`. */
function tagged(schema: Schema, kind: string): Schema {
  const properties = { ...((schema.properties ?? {}) as Record<string, unknown>), kind: { const: kind } };
  return {
    ...schema,
    properties,
    required: [...new Set([...((schema.required as string[]) ?? []), 'kind'])],
  };
}

const { node } = fc.letrec<{ node: Schema; object: Schema; array: Schema }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    tie('object'),
    tie('array'),
    leaf.map((s) => ({ anyOf: [s, { type: 'null' }] })),
    leaf.map((s) => ({ oneOf: [s, { type: 'null' }] })),
    fc
      .tuple(tie('object'), tie('object'), fc.constantFrom(['x', 'y'], ['x', 'x']))
      .map(([a, b, [ka, kb]]) => ({ oneOf: [tagged(a, ka!), tagged(b, kb!)] })),
  ),
  object: fc
    .record(
      {
        properties: fc.dictionary(fc.constantFrom(...names), tie('node'), { maxKeys: 3 }),
        required: fc.subarray([...names]),
        additionalProperties: fc.oneof(fc.constant(false), fc.constant(true), leaf),
      },
      { requiredKeys: ['properties'] },
    )
    .map((o) => ({ type: 'object', ...o })),
  array: fc
    .record(
      { items: tie('node'), maxItems: fc.integer({ min: 1, max: 3 }), uniqueItems: fc.constant(true) },
      { requiredKeys: ['items'] },
    )
    .map((a) => ({ type: 'array', ...a })),
}));

/** R as a few random edits of W (at the top level and one level down). */
function mutate(schema: Schema): fc.Arbitrary<Schema> {
  const edits: fc.Arbitrary<Schema>[] = [
    node,
    leaf.map((l) => ({ anyOf: [schema, l] })),
    fc.constant({ ...schema, type: schema.type === 'integer' ? 'number' : schema.type }),
  ];
  if (schema.type === 'object') {
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    edits.push(
      fc.constantFrom(...names).map((n) => ({
        ...schema,
        required: [...new Set([...((schema.required as string[]) ?? []), n])],
      })),
      fc.constant({ ...schema, required: [] }),
      fc.constantFrom(false, true).map((additionalProperties) => ({ ...schema, additionalProperties })),
      fc
        .tuple(fc.constantFrom(...names), node)
        .map(([n, s]) => ({ ...schema, properties: { ...properties, [n]: s } })),
      fc.constantFrom(...names).map((n) => {
        const rest = { ...properties };
        delete rest[n];
        return { ...schema, properties: rest };
      }),
      ...Object.entries(properties).map(([n, s]) =>
        mutate(s).map((m) => ({ ...schema, properties: { ...properties, [n]: m } })),
      ),
    );
  }
  if (schema.type === 'array')
    edits.push(mutate(schema.items as Schema).map((items) => ({ ...schema, items })));
  return fc.oneof(...edits);
}

const anyValue = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -2, max: 12 }),
  fc.constantFrom(0.5, 7.5),
  fc.constantFrom(...strings),
);

/** Values shaped by W (mostly valid for it); extra fields only under the never-declared name `z`. */
function instance(schema: unknown, depth = 0): fc.Arbitrary<unknown> {
  if (typeof schema !== 'object' || schema === null || depth > 4) return anyValue;
  const s = schema as Schema;
  if ('const' in s) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...s.enum);
  for (const union of [s.anyOf, s.oneOf]) {
    if (Array.isArray(union)) return fc.oneof(...union.map((o) => instance(o, depth + 1)));
  }
  const types = Array.isArray(s.type) ? s.type : s.type === undefined ? ['any'] : [s.type];
  return fc.oneof(
    ...types.map((t: string): fc.Arbitrary<unknown> => {
      switch (t) {
        case 'string':
          return fc.constantFrom(...strings);
        case 'integer':
          return fc.integer({ min: -2, max: 12 });
        case 'number':
          return fc.oneof(fc.integer({ min: -2, max: 12 }), fc.constantFrom(0.5, 7.5));
        case 'boolean':
          return fc.boolean();
        case 'null':
          return fc.constant(null);
        case 'array':
          return fc.array(instance(s.items, depth + 1), { maxLength: 3 });
        case 'object': {
          const properties = (s.properties ?? {}) as Record<string, unknown>;
          const fields = Object.fromEntries(
            Object.entries(properties).map(([n, p]) => [n, instance(p, depth + 1)]),
          );
          const extra =
            s.additionalProperties === false ? {} : { z: instance(s.additionalProperties ?? {}, depth + 1) };
          return fc.record({ ...fields, ...extra }, { requiredKeys: [] });
        }
        default:
          return anyValue;
      }
    }),
  );
}

describe('the compatibility checker is sound', () => {
  const compiler = createSchemaCompiler();

  it('accepts a reader only if it validates every value the writer validates', () => {
    let compatiblePairs = 0;
    let checkedValues = 0;
    const pair = node.chain((writer) => fc.tuple(fc.constant(writer), mutate(writer)));
    fc.assert(
      fc.property(
        pair.chain(([writer, reader]) =>
          fc.tuple(
            fc.constant(writer),
            fc.constant(reader),
            fc.array(instance(writer), { minLength: 20, maxLength: 20 }),
          ),
        ),
        ([rawWriter, rawReader, values]) => {
          const writer = JSON.parse(JSON.stringify(rawWriter)) as Schema;
          const reader = JSON.parse(JSON.stringify(rawReader)) as Schema;
          if (compareSchemas(writer, reader).length > 0) return;
          compatiblePairs += 1;
          const readerValidator = compiler.compile(reader, 'reader');
          const writerValidator = compiler.compile(writer, 'writer');
          // Through JSON, as events travel (fast-check may build objects without a prototype).
          for (const value of values.map((v) => JSON.parse(JSON.stringify(v)) as unknown)) {
            if (writerValidator.validate(value).length > 0) continue;
            checkedValues += 1;
            expect(readerValidator.validate(value), JSON.stringify({ writer, reader, value })).toEqual([]);
          }
        },
      ),
      { numRuns: 1500 },
    );
    expect(compatiblePairs).toBeGreaterThan(100);
    expect(checkedValues).toBeGreaterThan(1000);
  });
});
