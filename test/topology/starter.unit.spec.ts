/** The starter file `tidemark init` writes: valid as written, and it describes the demo estate. */
import { describe, expect, it } from 'vitest';
import { parseTopology, starterTopology } from '../../src/topology/index.js';

describe('the starter topology', () => {
  const result = parseTopology(starterTopology, 'tidemark.yaml');

  it('validates cleanly', () => {
    expect(result.errors).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('describes the insurer estate: one authority, four consumers with their own strategies and rules', () => {
    if (!result.valid) throw new Error('invalid starter');
    const t = result.topology;
    expect(t.contexts.map((c) => c.name)).toEqual([
      'customer-profile',
      'billing',
      'policy',
      'claims',
      'communications',
    ]);
    expect(t.authorityOf('customer')).toBe('customer-profile');
    const byConsumer = Object.fromEntries(t.flows.map((f) => [f.consumer, f]));
    expect(byConsumer.billing).toMatchObject({
      strategy: 'push-state',
      rules: [{ kind: 'deferred-until', calendar: 'next-billing-cycle' }],
    });
    expect(byConsumer.policy).toMatchObject({
      strategy: 'push-domain',
      rules: [{ kind: 'hold', state: 'under-review', when: 'risk-address-changed' }],
    });
    expect(byConsumer.claims).toMatchObject({
      strategy: 'push-domain',
      rules: [{ kind: 'blocked-when', condition: 'investigation-open' }],
    });
    expect(byConsumer.communications).toMatchObject({ strategy: 'notify-fetch' });
    expect(t.decision('send-letter').requires).toEqual([{ stage: 'applied', context: 'communications' }]);
    expect(t.decision('bill-at-new-address')).toMatchObject({
      requires: [{ stage: 'applied', context: 'billing' }],
      cutOff: 'billing-cut-off',
    });
    expect(t.reconciliation.map((s) => s.flow).sort()).toEqual(t.flows.map((f) => f.name).sort());
  });

  it('explains itself in comments', () => {
    expect(starterTopology).toMatch(/^# Tidemark topology/);
    expect(starterTopology).toContain('docs/topology.md');
    expect(starterTopology.split('\n').filter((l) => l.trim().startsWith('#')).length).toBeGreaterThan(15);
  });
});
