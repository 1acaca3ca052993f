/**
 * The audience router without a database: which channel gets what, the configuration it
 * refuses, and how a consumer validates a minimized copy.
 */
import { describe, expect, it } from 'vitest';
import type { Backbone, PublishOptions } from '../../src/backbone/index.js';
import { createReceiver } from '../../src/consumer/validate-on-receipt.js';
import { createEnvelope, type Envelope } from '../../src/envelope/index.js';
import { isTidemarkError, type TidemarkError } from '../../src/errors.js';
import { createAudienceBackbone, minimizedAttribute } from '../../src/relay/audiences.js';
import type { Sql } from '../../src/store/db.js';
import { parseTopology, receiveFieldsOf } from '../../src/topology/index.js';
import { schemas, topologyText, type } from './minimize-support.js';

// The estate plus a second entity type: billing also receives policies, without a list.
const withPolicy = parseTopology(
  topologyText
    .replace('    authority: profile\n', '    authority: profile\n  - name: policy\n    authority: profile\n')
    .concat(
      '  - name: policy-to-billing\n    entityType: policy\n    source: profile\n    consumer: billing\n    strategy: push-state\n',
    ),
  'minimize.yaml',
);
if (!withPolicy.valid) throw new Error('fixture topology is invalid');
const topology = withPolicy.topology;

/** A backbone that records what it was given. */
function recorder(name = 'memory'): Backbone & { published: Envelope[] } {
  const published: Envelope[] = [];
  return {
    name,
    capabilities: {
      persistent: false,
      consumerGroups: false,
      idempotentPublish: false,
      transactionalPublish: false,
    },
    partitions: 1,
    published,
    async publish(batch: readonly Envelope[], _options?: PublishOptions) {
      published.push(...batch);
    },
    subscribe: (group: string) =>
      Promise.resolve({ group, member: name, assignedPartitions: () => [], stop: async () => {} }),
    close: async () => {},
  };
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

const event = (entityType: string, data: unknown, extra: Record<string, unknown> = {}) =>
  ({
    ...createEnvelope({
      kind: 'domain',
      type: entityType === 'customer' ? type : `${entityType}.Changed`,
      authority: 'profile',
      entityType,
      entityId: 'e-1',
      entityVersion: 1,
      data,
      schemaVersion: 1,
    }),
    ...extra,
  }) as Envelope;

describe('createAudienceBackbone', () => {
  it('sends each audience only its flows’ entity types, cut and marked; the shared channel gets everything whole', async () => {
    const [shared, billing, claims] = [recorder(), recorder(), recorder()];
    const router = createAudienceBackbone({ shared, audiences: { billing, claims }, topology, schemas });
    const customer = event('customer', {
      customerId: 'c',
      name: 'Ann',
      email: 'a@example.com',
      address: { city: 'Leeds', street: 'Main St' },
    });
    const policy = event('policy', { number: 'P-1', premium: 10 });
    await router.publish([customer, policy]);
    expect(shared.published).toEqual([customer, policy]);
    expect(billing.published.map((e) => [e.entitytype, e.data, (e as never)[minimizedAttribute]])).toEqual([
      ['customer', { customerId: 'c', email: 'a@example.com', address: { city: 'Leeds' } }, 'billing'],
      // No list for policies: whole (its schema tags nothing).
      ['policy', { number: 'P-1', premium: 10 }, 'billing'],
    ]);
    // Claims receives no policies at all, and no PII street under its allowed address.
    expect(claims.published.map((e) => e.data)).toEqual([{ customerId: 'c', address: { city: 'Leeds' } }]);
    expect(router.for('billing')).toBe(billing);
    expect(router.for('audit')).toBe(shared);
    expect(router.capabilities.transactionalPublish).toBe(false);
  });

  it('subscribes a group named like a restricted consumer to its own channel, others to the shared one', async () => {
    const router = createAudienceBackbone({
      shared: recorder('shared'),
      audiences: { billing: recorder('billing'), claims: recorder('claims') },
      topology,
    });
    const handler = async () => {};
    expect((await router.subscribe('billing', handler)).member).toBe('billing');
    expect((await router.subscribe('claims', handler)).member).toBe('claims');
    expect((await router.subscribe('audit', handler)).member).toBe('shared');
  });

  it('refuses a restricted consumer without a channel, an audience that is no context, and a shared channel reused', () => {
    const shared = recorder();
    expect(
      failure(() => createAudienceBackbone({ shared, audiences: { billing: recorder() }, topology })).message,
    ).toContain("consumer 'claims' has a field allow-list in the topology but no channel of its own");
    expect(
      failure(() =>
        createAudienceBackbone({
          shared,
          audiences: { billing: recorder(), claims: recorder(), biling: recorder() },
          topology,
        }),
      ).message,
    ).toBe("audiences.biling: 'biling' is not a context of the topology");
    expect(
      failure(() =>
        createAudienceBackbone({ shared, audiences: { billing: shared, claims: recorder() }, topology }),
      ).message,
    ).toContain('audiences.billing is the same backbone as the shared channel or another audience');
  });

  it('stops on a claim-checked event it cannot cut, rather than send the reference', async () => {
    const router = createAudienceBackbone({
      shared: recorder(),
      audiences: { billing: recorder(), claims: recorder() },
      topology,
    });
    const claimed = event('customer', undefined, {
      claimcheck: '00000000-0000-4000-8000-000000000000',
      claimdigest: 'sha256:00',
    });
    await expect(router.publish([claimed])).rejects.toMatchObject({ code: 'TM_CLAIM_CHECK_MISSING' });
  });
});

describe('receiving a minimized copy', () => {
  const receive = createReceiver({ schemas });
  const tx = {} as Sql;

  it('does not count a field the allow-list removed as missing', async () => {
    const copy = event('customer', { email: 'a@example.com' }, { [minimizedAttribute]: 'billing' });
    // It passes validation; with no list of its own this receiver then withholds the PII email.
    expect((await receive(tx, copy)).data).toEqual({});
    // The same data unmarked is missing its required customerId.
    await expect(receive(tx, event('customer', { email: 'a@example.com' }))).rejects.toMatchObject({
      code: 'TM_SCHEMA_INVALID_EVENT',
    });
  });

  it('with its own list, a required field the list allows must still be there', async () => {
    const billing = createReceiver({ schemas, fields: receiveFieldsOf(topology, 'billing') });
    const withoutId = event('customer', { email: 'a@example.com' }, { [minimizedAttribute]: 'billing' });
    await expect(billing(tx, withoutId)).rejects.toMatchObject({
      code: 'TM_SCHEMA_INVALID_EVENT',
      message: expect.stringContaining('customerId') as string,
    });
    const withId = event('customer', { customerId: 'c' }, { [minimizedAttribute]: 'billing' });
    expect((await billing(tx, withId)).data).toEqual({ customerId: 'c' });
  });

  it('still refuses a field it carries with the wrong type', async () => {
    const copy = event('customer', { address: 'not an object' }, { [minimizedAttribute]: 'claims' });
    await expect(receive(tx, copy)).rejects.toMatchObject({
      code: 'TM_SCHEMA_INVALID_EVENT',
      message: expect.stringContaining('address') as string,
    });
  });
});
