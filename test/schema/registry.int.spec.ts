/**
 * The database-backed schema registry, on PGlite and (when reachable) server PostgreSQL.
 */
import { describe, expect, it } from 'vitest';
import { isTidemarkError, type TidemarkError } from '../../src/errors.js';
import { createSchemaRegistry, type SchemaRegistry } from '../../src/schema/registry.js';
import type { BreakingChange } from '../../src/schema/types.js';
import { databaseKinds } from '../support/both-databases.js';
import type { TestDb } from '../support/services.js';
import { addressChanged, addressV1 } from './fixtures.js';

const kinds = await databaseKinds();
const type = 'customer.AddressChanged';

/** addressV1 with `address.postcode` required: breaks BACKWARD (old events may lack it). */
const postcodeRequired = {
  ...addressV1,
  properties: {
    ...addressV1.properties,
    address: { ...addressV1.properties.address, required: ['street', 'postcode'] },
  },
};
/** addressV1 plus an optional `note`: compatible under every mode (open objects). */
const withNote = { ...addressV1, properties: { ...addressV1.properties, note: { type: 'string' } } };

async function failure(work: Promise<unknown>): Promise<TidemarkError> {
  try {
    await work;
  } catch (error) {
    if (isTidemarkError(error)) return error;
    throw error;
  }
  throw new Error('expected a TidemarkError');
}

describe.each(kinds)('schema registry on $name', ({ open, concurrent }) => {
  const withRegistry = (body: (registry: SchemaRegistry, store: TestDb) => Promise<void>) => async () => {
    const store = await open();
    try {
      await body(createSchemaRegistry({ db: store.db, schema: store.schema }), store);
    } finally {
      await store.cleanup();
    }
  };

  it(
    'registers versions and reads them back: get, latest, versions, types, mode',
    withRegistry(async (registry) => {
      // Given nothing registered
      expect(await registry.latest(type)).toBeUndefined();
      expect(await registry.compatibility(type)).toBe('BACKWARD');
      // When two compatible versions are registered
      const first = await registry.register(type, 1, addressV1);
      const second = await registry.register(type, 2, withNote);
      // Then both are stored with their digests and the type's mode
      expect(first).toMatchObject({ type, version: 1, status: 'registered', compatibility: 'BACKWARD' });
      expect(second.status).toBe('registered');
      expect(await registry.versions(type)).toEqual([1, 2]);
      expect(await registry.types()).toEqual([type]);
      const latest = await registry.latest(type);
      expect(latest).toMatchObject({
        type,
        version: 2,
        schema: withNote,
        digest: second.digest,
        origin: 'registry',
      });
      expect(Date.parse(latest!.registeredAt)).not.toBeNaN();
      expect((await registry.get(type, 1))?.schema).toEqual(addressV1);
      expect(await registry.get(type, 3)).toBeUndefined();
    }),
  );

  it(
    'is idempotent for an identical schema, whatever its key order',
    withRegistry(async (registry) => {
      await registry.register(type, 1, addressV1);
      const reversed = (value: unknown): unknown =>
        value && typeof value === 'object' && !Array.isArray(value)
          ? Object.fromEntries(
              Object.entries(value)
                .reverse()
                .map(([k, v]) => [k, reversed(v)]),
            )
          : value;
      const reordered = reversed(addressV1) as Record<string, unknown>;
      expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(addressV1));
      const again = await registry.register(type, 1, reordered);
      expect(again.status).toBe('unchanged');
      expect(await registry.versions(type)).toEqual([1]);
    }),
  );

  it(
    'refuses to change an already registered version',
    withRegistry(async (registry) => {
      await registry.register(type, 1, addressV1);
      const error = await failure(registry.register(type, 1, withNote));
      expect(error.code).toBe('TM_SCHEMA_VERSION_EXISTS');
      expect(error.message).toContain('register the new schema as v2');
      expect((await registry.get(type, 1))?.schema).toEqual(addressV1);
    }),
  );

  it(
    'rejects an incompatible version with the list of breaking changes and stores nothing',
    withRegistry(async (registry) => {
      await registry.register(type, 1, addressV1);
      const error = await failure(registry.register(type, 2, postcodeRequired));
      expect(error.code).toBe('TM_SCHEMA_INCOMPATIBLE');
      const changes = error.context.changes as BreakingChange[];
      expect(changes.map((c) => c.message)).toEqual([
        'field `address.postcode` became required in v2: events written with v1 may lack it',
      ]);
      expect(error.message).toContain('is not BACKWARD compatible (1 breaking change)');
      expect(await registry.versions(type)).toEqual([1]);
    }),
  );

  it(
    'stores the mode given at registration and holds later versions to it',
    withRegistry(async (registry) => {
      // FORWARD: old readers must read new data, so making a field required is allowed…
      await registry.register(type, 1, addressV1, { compatibility: 'FORWARD' });
      expect((await registry.register(type, 2, postcodeRequired)).compatibility).toBe('FORWARD');
      expect(await registry.compatibility(type)).toBe('FORWARD');
      // …but dropping the requirement again is not (v2 readers need the field).
      const error = await failure(registry.register(type, 3, addressV1));
      expect(error.code).toBe('TM_SCHEMA_INCOMPATIBLE');
      expect((error.context.changes as BreakingChange[])[0]?.direction).toBe('forward');
      // NONE accepts anything, on purpose.
      await registry.setCompatibility(type, 'NONE');
      expect((await registry.register(type, 3, addressV1)).status).toBe('registered');
    }),
  );

  it(
    'checks a transitive mode against every earlier version',
    withRegistry(async (registry) => {
      const object = (properties: object) => ({ type: 'object', properties });
      await registry.register('t', 1, object({ b: { type: 'string' } }), {
        compatibility: 'FULL_TRANSITIVE',
      });
      await registry.register('t', 2, object({}));
      // v3 re-adds `b` with another type: fine next to v2, not next to v1.
      const error = await failure(registry.register('t', 3, object({ b: { type: 'integer' } })));
      expect(
        (error.context.changes as BreakingChange[]).map((c) => [c.writerVersion, c.readerVersion, c.field]),
      ).toEqual([
        [1, 3, 'b'],
        [3, 1, 'b'],
      ]);
      expect(await registry.check('t', object({ b: { type: 'integer' } }), 'FULL')).toEqual([]);
    }),
  );

  it(
    'registers versions in order without gaps, and refuses bad schemas, types and modes',
    withRegistry(async (registry) => {
      await registry.register(type, 3, addressV1); // a type may start at any version
      expect((await failure(registry.register(type, 5, withNote))).message).toContain('the next one is v4');
      expect((await failure(registry.register(type, 2, withNote))).code).toBe('TM_INVALID_ARGUMENT');
      expect((await failure(registry.register(type, 4, { type: 'object', requried: ['x'] }))).code).toBe(
        'TM_SCHEMA_INVALID',
      );
      expect((await failure(registry.register('', 1, {}))).code).toBe('TM_INVALID_ARGUMENT');
      expect((await failure(registry.register(type, 1.5, {}))).code).toBe('TM_INVALID_ARGUMENT');
      expect(
        (await failure(registry.register(type, 4, withNote, { compatibility: 'SIDEWAYS' as 'NONE' })))
          .message,
      ).toContain('compatibility mode "SIDEWAYS" is not known');
      expect(await registry.versions(type)).toEqual([3]);
    }),
  );

  it(
    'validates an event against its version, naming path and rule, and refuses unknown versions',
    withRegistry(async (registry) => {
      await registry.register(type, 1, addressV1);
      expect(await registry.validate(addressChanged({ customerId: 'c', address: { street: 's' } }))).toEqual(
        [],
      );
      const issues = await registry.validate(
        addressChanged({ customerId: 'c', address: { street: 's', postcode: 'x' } }),
      );
      expect(issues.map((i) => [i.path, i.rule])).toEqual([['address.postcode', 'pattern']]);
      const error = await failure(registry.validate(addressChanged({}, 2)));
      expect(error.code).toBe('TM_SCHEMA_UNKNOWN_VERSION');
      expect(error.message).toContain('(registered: 1)');
    }),
  );

  it(
    'gives a synchronous validation hook that sees new versions after refresh',
    withRegistry(async (registry) => {
      await registry.register(type, 1, addressV1);
      const validate = await registry.validator();
      expect(() => validate(addressChanged({ customerId: 'c', address: { street: 's' } }))).not.toThrow();
      expect(() => validate(addressChanged({ customerId: 'c' }))).toThrow(
        expect.objectContaining({ code: 'TM_SCHEMA_INVALID_EVENT' }),
      );
      await registry.register(type, 2, withNote);
      const v2 = addressChanged({ customerId: 'c', address: { street: 's' }, note: 'n' }, 2);
      expect(() => validate(v2)).toThrow(expect.objectContaining({ code: 'TM_SCHEMA_UNKNOWN_VERSION' }));
      await validate.refresh();
      expect(() => validate(v2)).not.toThrow();
    }),
  );

  it(
    'shares registrations between registry instances on one database',
    withRegistry(async (registry, store) => {
      const other = createSchemaRegistry({ db: store.db, schema: store.schema });
      await registry.register(type, 1, addressV1);
      expect((await other.latest(type))?.digest).toBe((await registry.latest(type))?.digest);
      await other.register(type, 2, withNote);
      expect((await registry.latest(type))?.version).toBe(2);
      const snapshot = await registry.snapshot();
      expect(snapshot.versions(type)).toEqual([1, 2]);
    }),
  );

  it.runIf(concurrent)(
    'lets exactly one of two concurrent registrations of the same version win',
    withRegistry(async (registry, store) => {
      await registry.register(type, 1, addressV1);
      const other = createSchemaRegistry({ db: store.db, schema: store.schema });
      const variant = {
        ...withNote,
        properties: { ...withNote.properties, note: { type: 'string', maxLength: 9 } },
      };
      const results = await Promise.allSettled([
        registry.register(type, 2, withNote),
        other.register(type, 2, variant),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect((rejected.reason as TidemarkError).code).toBe('TM_SCHEMA_VERSION_EXISTS');
      expect(await registry.versions(type)).toEqual([1, 2]);
    }),
  );
});
