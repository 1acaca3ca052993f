import { describe, expect, it } from 'vitest';
import type { Row, RowChange } from '../../src/cdc/index.js';
import { policyEvents, policyTranslator } from '../../src/demo/legacy.js';

const policy = (over: Record<string, unknown> = {}) => ({
  pol_no: 'P-1',
  cust_no: 'C-0007',
  risk_addr1: '4 Elm Row',
  risk_pcode: 'EH7 4AA',
  stat_cd: 'A',
  prem_pence: 31_050,
  upd_user: 'JSMITH',
  ...over,
});
const change = (op: RowChange['op'], after: Row | null, before: Row | null = null): RowChange => ({
  op,
  table: 'demo_legacy_policy_admin.policies',
  key: { pol_no: 'P-1' },
  before,
  after,
  lsn: '0/1',
});

describe('the legacy policy admin translator (anti-corruption layer)', () => {
  it('turns a snapshot or inserted row into PolicyIssued in the published language', () => {
    for (const op of ['snapshot', 'insert'] as const) {
      expect(policyTranslator(() => {}).translate(change(op, policy()))).toEqual({
        entity: { type: 'policy', id: 'P-1' },
        event: {
          kind: 'domain',
          type: policyEvents.issued,
          data: {
            policyNumber: 'P-1',
            customerId: 'cust-0007',
            riskAddress: '4 Elm Row EH7 4AA',
            status: 'in-force',
            annualPremium: 310.5,
          },
        },
      });
    }
  });

  it('says what changed, one typed event per meaning, and filters out changes that mean nothing', () => {
    const filtered: RowChange[] = [];
    const translate = policyTranslator((c) => filtered.push(c)).translate;
    const moved = change('update', policy({ risk_addr1: '9 Kirkgate', stat_cd: 'L' }), policy());
    expect(translate(moved)).toEqual({
      entity: { type: 'policy', id: 'P-1' },
      event: [
        {
          kind: 'domain',
          type: policyEvents.riskAddressChanged,
          data: { riskAddress: '9 Kirkgate EH7 4AA', previous: '4 Elm Row EH7 4AA' },
        },
        { kind: 'domain', type: policyEvents.lapsed, data: { status: 'lapsed' } },
      ],
    });
    const touched = change('update', policy({ upd_user: 'AUDIT' }), policy());
    expect(translate(touched)).toBeUndefined();
    expect(filtered).toEqual([touched]);
  });

  it('rejects a status code the published language has no word for, and a delete', () => {
    const translate = policyTranslator(() => {}).translate;
    expect(() => translate(change('update', policy({ stat_cd: 'Z' }), policy()))).toThrow(
      /policy P-1 has status code 'Z', which the published language has no word for/,
    );
    expect(() => translate(change('delete', null, policy()))).toThrow(/never deleted .*delete/);
  });
});
