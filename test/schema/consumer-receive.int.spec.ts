/**
 * Consumers validate on receipt (an invalid event is dead-lettered with the reason and never
 * reaches the handler), lift old versions with upcasters, and hand each handler only the fields
 * it is allowed; PII-tagged fields only when named.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvelope, type Envelope } from '../../src/envelope/index.js';
import { createSchemaCompiler } from '../../src/schema/compile.js';
import { piiKeyword } from '../../src/schema/pii.js';
import { createSchemaSet } from '../../src/schema/schema-set.js';
import { createUpcasters } from '../../src/schema/upcast.js';
import { databaseKinds } from '../support/both-databases.js';
import type { TestDb } from '../support/services.js';
import { addressV1 } from './fixtures.js';
import { deadLetters, recordingConsumer } from './receive-support.js';

const kinds = await databaseKinds();
const type = 'customer.AddressChanged';
/** v2 splits `address.street` into `line1`, and names the customer (PII) and their email (PII). */
const addressV2 = {
  type: 'object',
  properties: {
    customerId: { type: 'string' },
    name: { type: 'string', [piiKeyword]: true },
    email: { $ref: '#/$defs/email' },
    address: {
      type: 'object',
      properties: {
        line1: { type: 'string' },
        city: { type: 'string' },
        phone: { type: 'string', [piiKeyword]: true },
      },
      required: ['line1'],
    },
  },
  required: ['customerId', 'address'],
  $defs: { email: { type: 'string', format: 'email', [piiKeyword]: true } },
};
const schemas = createSchemaSet(
  [
    { type, version: 1, schema: addressV1 },
    { type, version: 2, schema: addressV2 },
  ],
  { compiler: createSchemaCompiler({ keywords: [piiKeyword] }) },
);

let sequence = 0;
function event(data: unknown, schemaVersion: number | undefined, entityId = `c-${++sequence}`): Envelope {
  return createEnvelope({
    kind: 'domain',
    type,
    authority: 'profile',
    entityType: 'customer',
    entityId,
    entityVersion: 1,
    data,
    schemaVersion,
  });
}

const full = {
  customerId: 'c',
  name: 'Ann Example',
  email: 'ann@example.com',
  address: { line1: 'Main St 1', city: 'Leeds', phone: '+44 1' },
  extra: 'unknown field',
};

describe.each(kinds)('consumer receive on $name', (kind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await kind.open();
  });
  afterAll(() => t.cleanup());

  it('dead-letters an invalid event with the field and rule, and the handler never sees it', async () => {
    const { consumer, seen } = recordingConsumer(t, 'validating', { schemas });
    const bad = event({ customerId: 'c', address: { street: 'x'.repeat(81) } }, 1);
    const [outcome] = await consumer.handle(bad);
    expect(outcome).toMatchObject({ kind: 'dead-lettered', attempts: 1 });
    expect(outcome!.reason).toContain('address.street');
    expect(outcome!.reason).toContain('maxLength');
    expect(seen).toEqual([]);
    const [letter] = await deadLetters(t, 'validating');
    expect(letter).toMatchObject({ event_id: bad.id, code: 'TM_SCHEMA_INVALID_EVENT', status: 'open' });
    expect(letter!.reason).toContain('address.street');

    // Later events of the key wait behind it: the key's order is kept.
    const later = createEnvelope({
      ...asInput(bad),
      entityVersion: 2,
      data: { customerId: 'c', address: { street: 'ok' } },
    });
    expect((await consumer.handle(later))[0]!.kind).toBe('parked');
    expect(seen).toEqual([]);
  });

  it('dead-letters an event of an unregistered version, saying which versions exist', async () => {
    const { consumer, seen } = recordingConsumer(t, 'versions', { schemas });
    const [outcome] = await consumer.handle(event(full, 9));
    expect(outcome!.kind).toBe('dead-lettered');
    expect(outcome!.reason).toContain('registered: 1, 2');
    expect((await deadLetters(t, 'versions'))[0]!.code).toBe('TM_SCHEMA_UNKNOWN_VERSION');
    expect(seen).toEqual([]);
  });

  it('applies a valid event, lifted by upcasters to the latest version', async () => {
    const upcasters = createUpcasters({ schemas }).registerUpcaster(type, 1, (data) => {
      const { street, ...rest } = data.address;
      return { ...data, address: { ...rest, line1: street } };
    });
    const { consumer, seen } = recordingConsumer(t, 'upcasting', {
      schemas,
      upcasters,
      fields: { customer: ['customerId', 'address'] },
    });
    const old = event({ customerId: 'c', address: { street: 'Main St 1', postcode: '12345' } }, 1);
    expect((await consumer.handle(old))[0]!.kind).toBe('applied');
    expect(seen.map((e) => [e.schemaversion, e.data])).toEqual([
      [2, { customerId: 'c', address: { line1: 'Main St 1', postcode: '12345' } }],
    ]);
  });

  it('hands the handler only allow-listed fields; PII only when named, never through its parent', async () => {
    const { consumer, seen } = recordingConsumer(t, 'billing', {
      schemas,
      fields: { customer: ['customerId', 'address', 'email'] },
    });
    await consumer.handle(event(full, 2));
    expect(seen[0]!.data).toEqual({
      customerId: 'c',
      email: 'ann@example.com',
      // `address` is allowed, its PII `phone` is not named: withheld.
      address: { line1: 'Main St 1', city: 'Leeds' },
    });
  });

  it('without an allow-list, hands everything but PII', async () => {
    const { consumer, seen } = recordingConsumer(t, 'communications', { schemas });
    await consumer.handle(event(full, 2));
    expect(seen[0]!.data).toEqual({
      customerId: 'c',
      address: { line1: 'Main St 1', city: 'Leeds' },
      extra: 'unknown field',
    });
  });

  it('an event-type allow-list wins over the entity type one, and dotted paths keep part of an object', async () => {
    const { consumer, seen } = recordingConsumer(t, 'claims', {
      schemas,
      fields: { customer: ['customerId'], [type]: ['address.city', 'address.phone'] },
    });
    await consumer.handle(event(full, 2));
    expect(seen[0]!.data).toEqual({ address: { city: 'Leeds', phone: '+44 1' } });
  });
});

function asInput(envelope: Envelope) {
  return {
    kind: envelope.eventkind,
    type: envelope.type,
    authority: envelope.authority,
    entityType: envelope.entitytype,
    entityId: envelope.entityid,
    entityVersion: envelope.entityversion,
    schemaVersion: envelope.schemaversion,
  };
}
