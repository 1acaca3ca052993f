/**
 * A claim-checked event on a minimized channel: the router reads the payload from the
 * claim-check store, cuts it, and carries the cut inline, so the restricted consumer never gets
 * a reference it could resolve to the whole payload. The shared channel keeps the reference.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresLog } from '../../src/backbone/index.js';
import type { Envelope } from '../../src/envelope/index.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { createAudienceBackbone } from '../../src/relay/audiences.js';
import { createRelay } from '../../src/relay/index.js';
import { createClaimCheckStore } from '../../src/schema/claim-check/store.js';
import { migrate } from '../../src/store/migrate.js';
import { parseTopology } from '../../src/topology/index.js';
import { embeddedDb, uniqueSchema, type TestDb } from '../support/services.js';
import { schemas, topologyText, type } from './minimize-support.js';

describe('minimized channels and the claim check (PGlite)', () => {
  let t: TestDb;
  const audiences = { billing: uniqueSchema('aud'), claims: uniqueSchema('aud') };
  beforeAll(async () => {
    t = await embeddedDb();
    for (const schema of Object.values(audiences)) await migrate(t.db, schema);
    await registerAuthority(t.db, { entityType: 'customer', context: 'profile' }, t.schema);
  }, 60_000);
  afterAll(async () => {
    for (const schema of Object.values(audiences)) await t.db.query(`DROP SCHEMA "${schema}" CASCADE`);
    await t.cleanup();
  });

  it('carries the cut of a claim-checked payload inline on the audience channel', async () => {
    const claimCheck = createClaimCheckStore({ schema: t.schema, thresholdBytes: 256 });
    const parsed = parseTopology(topologyText, 'minimize.yaml', { schemas });
    if (!parsed.valid) throw new Error(JSON.stringify(parsed.errors));
    const router = createAudienceBackbone({
      shared: await createPostgresLog({ db: t.db, schema: t.schema, partitions: 2 }),
      audiences: {
        billing: await createPostgresLog({ db: t.db, schema: audiences.billing, partitions: 2 }),
        claims: await createPostgresLog({ db: t.db, schema: audiences.claims, partitions: 2 }),
      },
      topology: parsed.topology,
      schemas,
      claimCheck,
    });
    const producer = createProducer({
      context: 'profile',
      schema: t.schema,
      payloads: { schemas, claimCheck },
    });
    const data = {
      customerId: 'c-1',
      email: 'ann@example.com',
      name: 'Ann Example',
      address: { city: 'Leeds', street: 'Main St 1' },
      note: 'n'.repeat(1_000),
    };
    await t.db.transaction((tx) =>
      producer.append(tx, { type: 'customer', id: 'c-1' }, { kind: 'domain', type, data }),
    );
    expect(await createRelay({ db: t.db, backbone: router, schema: t.schema }).drain()).toBe(1);

    const row = async (schema: string) =>
      (await t.db.query<{ envelope: Record<string, unknown> }>(`SELECT envelope FROM "${schema}".log`))
        .rows[0]!.envelope;
    const shared = await row(t.schema);
    expect(shared.data).toBeUndefined();
    expect(typeof shared.claimcheck).toBe('string');
    for (const [name, expected] of [
      ['billing', { customerId: 'c-1', email: 'ann@example.com', address: { city: 'Leeds' } }],
      ['claims', { customerId: 'c-1', address: { city: 'Leeds' } }],
    ] as const) {
      const copy = (await row(audiences[name])) as unknown as Envelope & Record<string, unknown>;
      expect(copy.data).toEqual(expected);
      expect(copy.claimcheck).toBeUndefined();
      expect(copy.claimdigest).toBeUndefined();
      expect(copy.minimizedfor).toBe(name);
    }
  });
});
