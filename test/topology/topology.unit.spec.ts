/** The queries of a validated topology (authorityOf, flowsTo, consumersOf, decision, …). */
import { describe, expect, it } from 'vitest';
import { isTidemarkError } from '../../src/errors.js';
import { parseTopology, starterTopology, type Topology } from '../../src/topology/index.js';

function starter(): Topology {
  const result = parseTopology(starterTopology);
  if (!result.valid) throw new Error(JSON.stringify(result.errors));
  return result.topology;
}

describe('Topology queries', () => {
  const topology = starter();

  it('authorityOf names the one context that owns an entity type', () => {
    expect(topology.authorityOf('customer')).toBe('customer-profile');
  });

  it('authorityOf an undeclared type throws TM_UNKNOWN_ENTITY_TYPE listing the declared ones', () => {
    let thrown: unknown;
    try {
      topology.authorityOf('policy');
    } catch (error) {
      thrown = error;
    }
    expect(isTidemarkError(thrown, 'TM_UNKNOWN_ENTITY_TYPE')).toBe(true);
    expect((thrown as Error).message).toContain('(known: customer)');
  });

  it('flowsTo lists the flows a context receives, and nothing for the authority or an unknown context', () => {
    expect(topology.flowsTo('billing').map((f) => f.name)).toEqual(['customer-to-billing']);
    expect(topology.flowsTo('customer-profile')).toEqual([]);
    expect(topology.flowsTo('nowhere')).toEqual([]);
  });

  it('consumersOf lists the contexts that receive an entity type, in file order', () => {
    expect(topology.consumersOf('customer')).toEqual(['billing', 'policy', 'claims', 'communications']);
    expect(topology.consumersOf('policy')).toEqual([]);
  });

  it('decision returns a decision with its parsed requirements and cut-off', () => {
    expect(topology.decision('bill-at-new-address')).toEqual({
      name: 'bill-at-new-address',
      entityType: 'customer',
      description: 'Send the next invoice to the new address.',
      requires: [{ stage: 'applied', context: 'billing' }],
      cutOff: 'billing-cut-off',
    });
  });

  it('decision of an undeclared name throws TM_UNKNOWN_DECISION with a suggestion', () => {
    let thrown: unknown;
    try {
      topology.decision('send-leter');
    } catch (error) {
      thrown = error;
    }
    expect(isTidemarkError(thrown, 'TM_UNKNOWN_DECISION')).toBe(true);
    expect((thrown as Error).message).toBe(
      "decision 'send-leter' is not in the topology; declared decisions: send-letter, bill-at-new-address, " +
        "quote-at-new-risk-address, confirm-address-change — did you mean 'send-letter'?",
    );
  });

  it('flowOf and reconciliationOf find the flow of a type into a context and its schedule', () => {
    const flow = topology.flowOf('customer', 'communications');
    expect(flow).toMatchObject({ strategy: 'notify-fetch', tier: 'bounded', maxStalenessMs: 60_000 });
    expect(topology.flowOf('customer', 'customer-profile')).toBeUndefined();
    expect(topology.reconciliationOf('customer-to-billing')).toEqual({
      flow: 'customer-to-billing',
      schedule: { every: '15m', everyMs: 900_000 },
      repair: 'republish',
    });
    expect(topology.reconciliationOf('customer-to-policy')?.schedule).toEqual({ cron: '0 * * * *' });
    expect(topology.reconciliationOf('nope')).toBeUndefined();
  });
});
