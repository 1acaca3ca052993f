import { AssertionError } from 'node:assert';
import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { createSchemaSet } from '../../src/schema/schema-set.js';
import { assertEventMatchesSchema, assertSchemaCompatible } from '../../src/testing/schema-contract.js';
import { addressChanged, addressV1, schemaDirectory } from './fixtures.js';

const postcodeRequired = {
  ...addressV1,
  properties: {
    ...addressV1.properties,
    address: { ...addressV1.properties.address, required: ['street', 'postcode'] },
  },
};

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});
async function dirWith(files: Record<string, unknown>): Promise<string> {
  const dir = await schemaDirectory(files);
  dirs.push(dir);
  return dir;
}

async function assertionFailure(work: Promise<unknown>): Promise<AssertionError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AssertionError);
  return error as AssertionError;
}

describe('assertEventMatchesSchema (for producers’ tests)', () => {
  it('passes for an event that matches its schema in a directory or a schema set', async () => {
    const dir = await dirWith({ 'customer.AddressChanged/1.json': addressV1 });
    const event = addressChanged({ customerId: 'c', address: { street: 's' } });
    await assertEventMatchesSchema(event, dir);
    await assertEventMatchesSchema(
      event,
      createSchemaSet([{ type: 'customer.AddressChanged', version: 1, schema: addressV1 }]),
    );
  });

  it('fails listing each issue with its path, or naming the unknown version', async () => {
    const dir = await dirWith({ 'customer.AddressChanged/1.json': addressV1 });
    const bad = await assertionFailure(
      assertEventMatchesSchema(addressChanged({ customerId: 1, address: {} }), dir),
    );
    expect(bad.message).toBe(
      'customer.AddressChanged v1: the event data does not match its schema:\n' +
        '  - field `customerId` must be of type string, got 1 (type)\n' +
        '  - field `address.street` is missing; the schema requires it (required)',
    );
    const unknown = await assertionFailure(assertEventMatchesSchema(addressChanged({}, 2), dir));
    expect(unknown.message).toContain('names schema version 2, which is not registered');
  });

  it('fails for something that is not a valid envelope', async () => {
    const dir = await dirWith({ 'customer.AddressChanged/1.json': addressV1 });
    const error = await assertionFailure(
      assertEventMatchesSchema({ type: 'customer.AddressChanged', schemaversion: 1, data: {} }, dir),
    );
    expect(error.message).toMatch(/^not a valid Tidemark envelope: specversion: expected/);
  });
});

describe('assertSchemaCompatible (for producers’ and consumers’ tests)', () => {
  it('passes for a compatible history and fails listing each breaking change', async () => {
    const dir = await dirWith({
      'customer.AddressChanged/1.json': addressV1,
      'customer.AddressChanged/2.json': postcodeRequired,
    });
    await assertSchemaCompatible(dir, 'customer.AddressChanged', 'FORWARD');
    const error = await assertionFailure(assertSchemaCompatible(dir, 'customer.AddressChanged'));
    expect(error.message).toBe(
      'customer.AddressChanged is not BACKWARD compatible (1 breaking change):\n' +
        '  - field `address.postcode` became required in v2: events written with v1 may lack it',
    );
  });

  it('fails when the directory has no schema for the type', async () => {
    const dir = await dirWith({ 'customer.AddressChanged/1.json': addressV1 });
    const error = await assertionFailure(assertSchemaCompatible(dir, 'customer.Registered', 'FULL'));
    expect(error.message).toContain('has no schemas for customer.Registered');
    expect(error.message).toContain('types found: customer.AddressChanged');
  });
});
