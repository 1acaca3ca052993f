import { tidemark as runCli } from '../support/cli.js';
/**
 * `tidemark schema check` as producers' CI runs it: in a project directory with schemas/,
 * exit 0 when compatible, exit 2 with every breaking change otherwise.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

let dir: string;

const tidemark = (...args: string[]) => runCli(args, { cwd: dir, timeoutMs: 60_000 });

async function schemaFile(path: string, content: unknown) {
  await mkdir(join(dir, path, '..'), { recursive: true });
  await writeFile(join(dir, path), typeof content === 'string' ? content : JSON.stringify(content));
}

const address = (required: string[]) => ({
  type: 'object',
  properties: {
    address: {
      type: 'object',
      properties: { street: { type: 'string' }, postcode: { type: 'string' } },
      required,
    },
  },
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tidemark-schema-cli-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tidemark schema check', () => {
  it('exits 0 when every type’s versions are compatible', async () => {
    await schemaFile('schemas/customer.AddressChanged/1.json', address(['street']));
    await schemaFile('schemas/customer.AddressChanged/2.json', address([]));
    await schemaFile('schemas/customer.Registered/1.json', { type: 'object' });
    const result = await tidemark('schema', 'check');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Checked 2 event types in schemas (mode BACKWARD)');
    expect(result.stdout).toContain('ok    customer.AddressChanged (v1, v2)');
    expect(result.stdout).toContain('All schema versions are compatible.');
  });

  it('exits 2 and prints each breaking change with its field path', async () => {
    await schemaFile('schemas/customer.AddressChanged/1.json', address(['street']));
    await schemaFile('schemas/customer.AddressChanged/2.json', address(['street', 'postcode']));
    const result = await tidemark('schema', 'check', '--dir', 'schemas');
    expect(result.code).toBe(2);
    expect(result.stdout).toContain('BREAK customer.AddressChanged (v1, v2): 1 breaking change');
    expect(result.stdout).toContain(
      '[v1 data, v2 readers] field `address.postcode` became required in v2: events written with v1 may lack it',
    );
  });

  it('applies the mode: the same change passes FORWARD and fails FULL', async () => {
    await schemaFile('contracts/customer.AddressChanged/1.json', address(['street']));
    await schemaFile('contracts/customer.AddressChanged/2.json', address(['street', 'postcode']));
    expect((await tidemark('schema', 'check', '--dir', 'contracts', '--mode', 'FORWARD')).code).toBe(0);
    expect((await tidemark('schema', 'check', '--dir', 'contracts', '--mode', 'FULL')).code).toBe(2);
    expect((await tidemark('schema', 'check', '--dir', 'contracts', '--mode', 'NONE')).code).toBe(0);
  });

  it('checks every earlier version under a transitive mode', async () => {
    await schemaFile('schemas/t/1.json', { type: 'object', properties: { b: { type: 'string' } } });
    await schemaFile('schemas/t/2.json', { type: 'object', properties: {} });
    await schemaFile('schemas/t/3.json', { type: 'object', properties: { b: { type: 'integer' } } });
    expect((await tidemark('schema', 'check', '--mode', 'BACKWARD')).code).toBe(0);
    const result = await tidemark('schema', 'check', '--mode', 'BACKWARD_TRANSITIVE', '--json');
    expect(result.code).toBe(2);
    const report = JSON.parse(result.stdout) as {
      compatible: boolean;
      mode: string;
      types: {
        type: string;
        changes: { writerVersion: number; readerVersion: number; field: string; kind: string }[];
      }[];
    };
    expect(report).toMatchObject({ compatible: false, mode: 'BACKWARD_TRANSITIVE' });
    expect(report.types[0]!.changes).toEqual([
      expect.objectContaining({ writerVersion: 1, readerVersion: 3, field: 'b', kind: 'type-narrowed' }),
    ]);
  });

  it('prints one JSON object with --json', async () => {
    await schemaFile('schemas/customer.Registered/1.json', { type: 'object' });
    const result = await tidemark('schema', 'check', '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      dir: 'schemas',
      mode: 'BACKWARD',
      compatible: true,
      types: [{ type: 'customer.Registered', versions: [1], compatible: true, changes: [] }],
    });
  });

  it('names each unusable file and exits 2', async () => {
    await schemaFile('schemas/t/1.json', '{ not json');
    await schemaFile('schemas/t/two.json', { type: 'object' });
    await schemaFile('schemas/u/1.json', { type: 'object', requried: ['x'] });
    const result = await tidemark('schema', 'check');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('3 schema files in schemas cannot be used');
    expect(result.stderr).toContain(`${join('schemas', 't', '1.json')}: not valid JSON`);
    expect(result.stderr).toContain(`${join('schemas', 't', 'two.json')}: the file name must be the version`);
    expect(result.stderr).toContain(`${join('schemas', 'u', '1.json')}: not a valid JSON Schema`);
    expect(result.stderr).toContain('[TM_SCHEMA_INVALID]');
    expect(result.stderr).not.toMatch(/at .*\.ts:\d+/);
    const json = await tidemark('schema', 'check', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'TM_SCHEMA_INVALID' } });
  });

  it('says how to lay out schemas when the directory is missing, and refuses an unknown mode', async () => {
    const missing = await tidemark('schema', 'check');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('schema directory "schemas" does not exist');
    const mode = await tidemark('schema', 'check', '--mode', 'SIDEWAYS');
    expect(mode.code).not.toBe(0);
    expect(mode.stderr).toContain("argument 'SIDEWAYS' is invalid. Allowed choices are BACKWARD");
  });
});
