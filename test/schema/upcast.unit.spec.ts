import { describe, expect, it } from 'vitest';
import { isTidemarkError, type TidemarkError } from '../../src/errors.js';
import { createSchemaSet } from '../../src/schema/schema-set.js';
import { createUpcasters } from '../../src/schema/upcast.js';
import { addressChanged } from './fixtures.js';

/**
 * customer.AddressChanged:
 *   v1 { customerId, zip, street }
 *   v2 { customerId, address: { street, postcode } }          (zip/street moved into address)
 *   v3 { customerId, address: { street, postcode, country } } (country required, default "DE")
 */
const schemas = createSchemaSet([
  {
    type: 'customer.AddressChanged',
    version: 1,
    schema: {
      type: 'object',
      properties: { customerId: { type: 'string' }, zip: { type: 'string' }, street: { type: 'string' } },
    },
  },
  {
    type: 'customer.AddressChanged',
    version: 2,
    schema: {
      type: 'object',
      properties: {
        customerId: { type: 'string' },
        address: { type: 'object', properties: { street: { type: 'string' }, postcode: { type: 'string' } } },
      },
    },
  },
  {
    type: 'customer.AddressChanged',
    version: 3,
    schema: {
      type: 'object',
      properties: {
        customerId: { type: 'string' },
        address: {
          type: 'object',
          properties: {
            street: { type: 'string' },
            postcode: { type: 'string' },
            country: { type: 'string' },
          },
          required: ['country'],
        },
      },
    },
  },
]);

type V1 = { customerId: string; zip?: string; street?: string };
type V2 = { customerId: string; address: { street?: string; postcode?: string } };

function chain(options: { preserveUnknownFields?: boolean } = {}) {
  return createUpcasters({ schemas, ...options })
    .registerUpcaster('customer.AddressChanged', 1, ({ customerId, zip, street }: V1) => ({
      customerId,
      address: { street, postcode: zip },
    }))
    .registerUpcaster('customer.AddressChanged', 2, (data: V2) => ({
      ...data,
      address: { ...data.address, country: 'DE' },
    }));
}

function failure(work: () => unknown): TidemarkError {
  try {
    work();
  } catch (error) {
    if (isTidemarkError(error)) return error;
    throw error;
  }
  throw new Error('expected a TidemarkError');
}

describe('upcasters', () => {
  it('lift a v1 event through v2 to v3 and set schemaversion to the latest', () => {
    // Given a v1 event and the chain v1 → v2 → v3
    const v1 = addressChanged({ customerId: 'c-1', zip: '12345', street: '1 Main St' }, 1);
    // When it is upcast
    const lifted = chain().upcast(v1);
    // Then it has the v3 shape and version, and it validates against v3; nothing else changed
    expect(lifted.schemaversion).toBe(3);
    expect(lifted.data).toEqual({
      customerId: 'c-1',
      address: { street: '1 Main St', postcode: '12345', country: 'DE' },
    });
    expect(schemas.validate(lifted)).toEqual([]);
    expect({ ...lifted, data: undefined, schemaversion: undefined }).toEqual({
      ...v1,
      data: undefined,
      schemaversion: undefined,
    });
  });

  it('start from the event’s own version', () => {
    const lifted = chain().upcast(addressChanged({ customerId: 'c-1', address: { street: 's' } }, 2));
    expect(lifted.schemaversion).toBe(3);
    expect(lifted.data).toEqual({ customerId: 'c-1', address: { street: 's', country: 'DE' } });
  });

  it('preserve fields the old version does not declare, at every level, and drop declared ones left out', () => {
    const v1 = addressChanged({ customerId: 'c-1', zip: '1', street: 's', loyaltyTier: 'gold' }, 1);
    const v2 = addressChanged(
      { customerId: 'c-1', address: { street: 's', geo: { lat: 1 } }, source: 'app' },
      2,
    );
    const upcasters = chain();
    // `zip` and `street` are declared by v1 and moved by the upcaster: not copied back.
    expect(upcasters.upcast(v1).data).toEqual({
      customerId: 'c-1',
      address: { street: 's', postcode: '1', country: 'DE' },
      loyaltyTier: 'gold',
    });
    // An upcaster that rebuilds every level from the declared fields only:
    const strict = createUpcasters({ schemas }).registerUpcaster('customer.AddressChanged', 2, (d: V2) => ({
      customerId: d.customerId,
      address: { street: d.address.street, postcode: d.address.postcode, country: 'DE' },
    }));
    expect(strict.upcast(v2).data).toEqual({
      customerId: 'c-1',
      address: { street: 's', postcode: undefined, country: 'DE', geo: { lat: 1 } },
      source: 'app',
    });
  });

  it('leave unknown fields to the upcaster when preservation is off', () => {
    const v1 = addressChanged({ customerId: 'c-1', zip: '1', loyaltyTier: 'gold' }, 1);
    expect(chain({ preserveUnknownFields: false }).upcast(v1).data).toEqual({
      customerId: 'c-1',
      address: { postcode: '1', country: 'DE' },
    });
  });

  it('do not change the original event', () => {
    const data = { customerId: 'c-1', zip: '1', street: 's' };
    const v1 = addressChanged(data, 1);
    chain()
      .registerUpcaster('other', 1, (d: { n: number }) => {
        d.n += 1;
        return d;
      })
      .upcast(v1);
    expect(v1.data).toEqual({ customerId: 'c-1', zip: '1', street: 's' });
  });

  it('return events at the latest version, without schemaversion, or tombstones as they are', () => {
    const upcasters = chain();
    const latest = addressChanged({ customerId: 'c-1', address: { country: 'DE' } }, 3);
    expect(upcasters.upcast(latest)).toBe(latest);
    const unversioned = { ...latest, schemaversion: undefined };
    expect(upcasters.upcast(unversioned)).toBe(unversioned);
    const newer = addressChanged({}, 4);
    expect(upcasters.upcast(newer)).toBe(newer);
  });

  it('name the missing step when the chain has a gap', () => {
    const upcasters = createUpcasters({ schemas }).registerUpcaster(
      'customer.AddressChanged',
      1,
      (d: unknown) => d,
    );
    const error = failure(() => upcasters.upcast(addressChanged({ customerId: 'c-1' }, 1, 'evt-7')));
    expect(error.code).toBe('TM_SCHEMA_UPCAST_FAILED');
    expect(error.message).toBe(
      'event evt-7 (customer.AddressChanged v1) cannot be lifted to v3: no upcaster from v2 to v3; ' +
        "register one with registerUpcaster('customer.AddressChanged', 2, fn)",
    );
  });

  it('wrap an upcaster that throws, naming the step and the event', () => {
    const upcasters = createUpcasters().registerUpcaster('t', 1, () => {
      throw new Error('zip missing');
    });
    const error = failure(() => upcasters.upcast({ ...addressChanged({}, 1), type: 't' }));
    expect(error.code).toBe('TM_SCHEMA_UPCAST_FAILED');
    expect(error.message).toBe('the upcaster from t v1 to v2 failed on event evt-1: zip missing');
    expect((error.cause as Error).message).toBe('zip missing');
  });

  it('without schemas, lift to one past the highest registered step', () => {
    const upcasters = createUpcasters()
      .registerUpcaster('t', 1, (d: { a: number }) => ({ a: d.a, b: 2 }))
      .registerUpcaster('t', 2, (d: { a: number; b: number }) => ({ ...d, c: 3 }));
    expect(upcasters.latestVersion('t')).toBe(3);
    expect(upcasters.latestVersion('unknown')).toBeUndefined();
    const lifted = upcasters.upcast({ ...addressChanged({ a: 1 }, 1), type: 't' });
    expect([lifted.schemaversion, lifted.data]).toEqual([3, { a: 1, b: 2, c: 3 }]);
  });

  it('refuse a second upcaster for the same step', () => {
    const upcasters = createUpcasters().registerUpcaster('t', 1, (d: unknown) => d);
    expect(failure(() => upcasters.registerUpcaster('t', 1, (d: unknown) => d)).code).toBe(
      'TM_INVALID_ARGUMENT',
    );
    expect(failure(() => upcasters.registerUpcaster('t', 0, (d: unknown) => d)).code).toBe(
      'TM_INVALID_ARGUMENT',
    );
  });
});
