import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isTidemarkError, type TidemarkError } from '../../src/errors.js';
import { createSchemaCompiler } from '../../src/schema/compile.js';
import { loadSchemasFromDirectory } from '../../src/schema/directory.js';
import { createSchemaSet } from '../../src/schema/schema-set.js';
import { createEventValidator } from '../../src/schema/validator.js';
import { addressChanged, addressV1, schemaDirectory } from './fixtures.js';

const dirs: string[] = [];
async function dirWith(files: Record<string, unknown>): Promise<string> {
  const dir = await schemaDirectory(files);
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function failure(work: Promise<unknown> | (() => unknown)): Promise<TidemarkError> {
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (error) {
    if (isTidemarkError(error)) return error;
    throw error;
  }
  throw new Error('expected a TidemarkError');
}

describe('loadSchemasFromDirectory', () => {
  it('reads one folder per type and one file per version, ignoring other files', async () => {
    // Given a directory with two types, a README and a hidden file
    const dir = await dirWith({
      'customer.AddressChanged/1.json': addressV1,
      'customer.AddressChanged/2.json': {
        ...addressV1,
        properties: { ...addressV1.properties, note: { type: 'string' } },
      },
      'customer.Registered/1.json': { type: 'object' },
      'customer.Registered/README.md': '# notes',
      'customer.Registered/.1.json.swp': 'x',
    });
    // When it is loaded
    const schemas = await loadSchemasFromDirectory(dir);
    // Then every type and version is there, with its file as origin
    expect(schemas.types()).toEqual(['customer.AddressChanged', 'customer.Registered']);
    expect(schemas.versions('customer.AddressChanged')).toEqual([1, 2]);
    expect(schemas.latest('customer.AddressChanged')?.version).toBe(2);
    expect(schemas.get('customer.Registered', 1)?.origin).toBe(join(dir, 'customer.Registered', '1.json'));
    expect(schemas.get('customer.Registered', 2)).toBeUndefined();
  });

  it('names every unusable file: bad JSON, a non-integer file name, a schema that does not compile', async () => {
    const dir = await dirWith({
      'a.Event/1.json': '{ "type": "object", }',
      'a.Event/v2.json': { type: 'object' },
      'a.Event/1.5.json': { type: 'object' },
      'a.Event/03.json': { type: 'object' },
      'b.Event/1.json': { type: 'object', properties: { n: { type: 'integr' } } },
      'b.Event/2.json': { type: 'object', requried: ['x'] },
      'c.Event/1.json': { type: 'string', format: 'emial' },
      'd.Event/1.json': { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object' },
    });
    const error = await failure(loadSchemasFromDirectory(dir));
    expect(error.code).toBe('TM_SCHEMA_INVALID');
    const problems = error.context.problems as { file: string; problem: string }[];
    const byFile = Object.fromEntries(problems.map((p) => [p.file.slice(dir.length + 1), p.problem]));
    expect(Object.keys(byFile).sort()).toEqual(
      [
        'a.Event/03.json',
        'a.Event/1.5.json',
        'a.Event/1.json',
        'a.Event/v2.json',
        'b.Event/1.json',
        'b.Event/2.json',
        'c.Event/1.json',
        'd.Event/1.json',
      ]
        .map((f) => join(...f.split('/')))
        .sort(),
    );
    expect(byFile[join('a.Event', '1.json')]).toMatch(/^not valid JSON: /);
    expect(byFile[join('a.Event', 'v2.json')]).toMatch(
      /file name must be the version, a whole number from 1/,
    );
    expect(byFile[join('b.Event', '1.json')]).toMatch(/type/);
    expect(byFile[join('b.Event', '2.json')]).toMatch(
      /^not a valid JSON Schema: unknown keyword "requried" \(a typo\?/,
    );
    expect(byFile[join('c.Event', '1.json')]).toMatch(/unknown format "emial"/);
    expect(byFile[join('d.Event', '1.json')]).toMatch(/Tidemark reads JSON Schema 2020-12/);
    // The message names each file, so a CI log is enough to fix them.
    for (const problem of problems) expect(error.message).toContain(problem.file);
  });

  it('says how to lay out a missing directory', async () => {
    const error = await failure(loadSchemasFromDirectory('/nonexistent/schemas'));
    expect(error.code).toBe('TM_INVALID_ARGUMENT');
    expect(error.message).toContain('schemas/customer.AddressChanged/1.json');
  });
});

describe('validating event data', () => {
  const schemas = createSchemaSet([{ type: 'customer.AddressChanged', version: 1, schema: addressV1 }]);

  it('accepts data that matches the schema of its version', () => {
    expect(
      schemas.validate(
        addressChanged({ customerId: 'c-1', address: { street: '1 Main St', postcode: '12345' } }),
      ),
    ).toEqual([]);
  });

  it('names the field path and the rule of every issue', () => {
    const issues = schemas.validate(
      addressChanged({ customerId: 7, address: { street: 'x'.repeat(81), postcode: '12' }, extra: true }),
    );
    expect(issues.map((i) => [i.path, i.rule])).toEqual([
      ['customerId', 'type'],
      ['address.street', 'maxLength'],
      ['address.postcode', 'pattern'],
    ]);
    expect(issues[0]!.message).toBe('field `customerId` must be of type string, got 7 (type)');
    expect(issues[1]!.message).toMatch(
      /^field `address.street` must NOT have more than 80 characters, got "x+…" \(maxLength\)$/,
    );
  });

  it('reports a missing required field under its own path', () => {
    const [issue] = schemas.validate(addressChanged({ customerId: 'c-1', address: {} }));
    expect(issue).toMatchObject({ path: 'address.street', rule: 'required' });
    expect(issue!.message).toBe('field `address.street` is missing; the schema requires it (required)');
  });

  it('reports array positions and unknown fields of closed objects', () => {
    const set = createSchemaSet([
      {
        type: 't',
        version: 1,
        schema: {
          type: 'object',
          additionalProperties: false,
          properties: {
            lines: { type: 'array', items: { type: 'object', properties: { qty: { type: 'integer' } } } },
          },
        },
      },
    ]);
    const issues = set.validate({
      type: 't',
      schemaversion: 1,
      data: { lines: [{ qty: 1 }, { qty: 1.5 }], x: 1 },
    });
    expect(issues.map((i) => [i.path, i.rule])).toEqual([
      ['x', 'additionalProperties'],
      ['lines[1].qty', 'type'],
    ]);
  });

  it('reports a nullable union failure once, with the reason for each alternative', () => {
    const set = createSchemaSet([
      {
        type: 't',
        version: 1,
        schema: {
          type: 'object',
          properties: { a: { anyOf: [{ type: 'string', maxLength: 2 }, { type: 'null' }] } },
        },
      },
    ]);
    const issues = set.validate({ type: 't', schemaversion: 1, data: { a: 'abc' } });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: 'a', rule: 'anyOf' });
    expect(issues[0]!.message).toContain('matches none of the alternatives');
    expect(issues[0]!.message).toContain('must NOT have more than 2 characters');
  });

  it('checks string formats', () => {
    const set = createSchemaSet([
      {
        type: 't',
        version: 1,
        schema: {
          type: 'object',
          properties: {
            at: { type: 'string', format: 'date-time' },
            email: { type: 'string', format: 'email' },
            id: { type: 'string', format: 'uuid' },
          },
        },
      },
    ]);
    const valid = {
      at: '2026-01-31T12:00:00Z',
      email: 'ann@example.com',
      id: '0b7e6c1e-8a3b-4c55-9f0e-3c2a1b4d5e6f',
    };
    expect(set.validate({ type: 't', schemaversion: 1, data: valid })).toEqual([]);
    const issues = set.validate({
      type: 't',
      schemaversion: 1,
      data: { at: '2026-02-30T12:00:00Z', email: 'ann', id: 'x' },
    });
    expect(issues.map((i) => [i.path, i.rule])).toEqual([
      ['at', 'format'],
      ['email', 'format'],
      ['id', 'format'],
    ]);
  });

  it('refuses an unknown schema version with a specific error listing the known ones', async () => {
    const error = await failure(() => schemas.validate(addressChanged({}, 3)));
    expect(error.code).toBe('TM_SCHEMA_UNKNOWN_VERSION');
    expect(error.message).toContain('names schema version 3, which is not registered (registered: 1)');
    expect(error.context).toMatchObject({ type: 'customer.AddressChanged', schemaVersion: 3, known: [1] });
  });

  it('refuses an event without schemaversion and an event of a type without schemas', async () => {
    const noVersion = await failure(() =>
      schemas.validate({ type: 'customer.AddressChanged', data: {}, schemaversion: undefined }),
    );
    expect(noVersion.code).toBe('TM_SCHEMA_UNKNOWN_VERSION');
    expect(noVersion.message).toContain('has no schemaversion');
    const unknownType = await failure(() =>
      schemas.validate({ type: 'other.Thing', schemaversion: 1, data: {} }),
    );
    expect(unknownType.code).toBe('TM_SCHEMA_UNKNOWN_VERSION');
    expect(unknownType.message).toContain('no schema is registered for type other.Thing');
  });

  it('does not validate the data of a tombstone (it has none)', () => {
    expect(
      schemas.validate({
        type: 'customer.AddressChanged',
        schemaversion: 1,
        eventkind: 'tombstone',
        data: undefined,
      }),
    ).toEqual([]);
  });
});

describe('the validation hook', () => {
  const schemas = createSchemaSet([{ type: 'customer.AddressChanged', version: 1, schema: addressV1 }]);
  const validate = createEventValidator(schemas);

  it('returns for a valid event and throws TM_SCHEMA_INVALID_EVENT listing the issues otherwise', async () => {
    expect(validate(addressChanged({ customerId: 'c-1', address: { street: 'x' } }))).toBeUndefined();
    const error = await failure(() =>
      validate(addressChanged({ customerId: 'c-1', address: {} }, 1, 'evt-9')),
    );
    expect(error).toMatchObject({ code: 'TM_SCHEMA_INVALID_EVENT', retryable: false, status: 422 });
    expect(error.message).toBe(
      'event evt-9 (customer.AddressChanged) does not match schema version 1: field `address.street` is missing; the schema requires it (required)',
    );
    expect(error.context.issues).toEqual([
      expect.objectContaining({ path: 'address.street', rule: 'required' }),
    ]);
  });

  it('lets events of types without schemas pass only when asked to', async () => {
    const other = { type: 'other.Thing', schemaversion: 1, data: {} };
    expect((await failure(() => validate(other))).code).toBe('TM_SCHEMA_UNKNOWN_VERSION');
    expect(createEventValidator(schemas, { allowUnknownTypes: true })(other)).toBeUndefined();
    // A known type with an unknown version is still refused.
    const error = await failure(() =>
      createEventValidator(schemas, { allowUnknownTypes: true })(addressChanged({}, 2)),
    );
    expect(error.code).toBe('TM_SCHEMA_UNKNOWN_VERSION');
  });
});

describe('the schema compiler', () => {
  it('compiles each distinct schema once and shares it between types and versions', () => {
    const compiler = createSchemaCompiler();
    const a = compiler.compile({ type: 'string' }, 'a v1');
    const b = compiler.compile({ type: 'string' }, 'b v3');
    expect(b).toBe(a);
    expect(compiler.compile({ type: 'integer' }, 'a v2')).not.toBe(a);
  });

  it('compiles versions that reuse the same $id', () => {
    const compiler = createSchemaCompiler();
    const id = 'https://schemas.example.com/customer.AddressChanged';
    compiler.compile({ $id: id, type: 'string' }, 'v1');
    expect(compiler.compile({ $id: id, type: 'integer' }, 'v2').validate(1)).toEqual([]);
  });

  it('accepts declared annotation keywords such as x-pii and refuses undeclared ones', async () => {
    const schema = { type: 'object', properties: { email: { type: 'string', 'x-pii': true } } };
    const error = await failure(() => createSchemaCompiler().compile(schema, 'schemas/t/1.json'));
    expect(error.code).toBe('TM_SCHEMA_INVALID');
    expect(error.message).toMatch(/^schemas\/t\/1.json: not a valid JSON Schema: .*x-pii/);
    expect(
      createSchemaCompiler({ keywords: ['x-pii'] })
        .compile(schema, 't')
        .validate({ email: 'a' }),
    ).toEqual([]);
  });

  it('refuses something that is not a schema', async () => {
    const error = await failure(() => createSchemaCompiler().compile([1, 2], 't v1'));
    expect(error.message).toBe(
      't v1: not a valid JSON Schema: a JSON Schema is an object or true/false, got an array',
    );
  });
});
