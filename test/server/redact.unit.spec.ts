import { describe, expect, it } from 'vitest';
import type { DeadLetterDetail } from '../../src/dlq/index.js';
import { forViewer, type FieldAllowLists } from '../../src/server/redact.js';

const letter = (data: unknown): DeadLetterDetail => ({
  id: 1,
  consumer: 'billing',
  status: 'open',
  eventId: 'e1',
  authority: 'customer-profile',
  entityType: 'customer',
  entityId: 'c-1',
  entityVersion: 2,
  partitionKey: 'customer/c-1',
  code: 'TM_HANDLER_FAILED',
  reason: 'boom',
  attempts: 3,
  createdAt: '2026-11-26T00:00:00.000Z',
  updatedAt: '2026-11-26T00:00:00.000Z',
  parkedBehind: 0,
  envelope: { id: 'e1', type: 'CustomerAddressChanged', data },
  originalEnvelope: { id: 'e1', type: 'CustomerAddressChanged', data: { ...(data as object), before: true } },
  stack: null,
});

describe('what a viewer sees of a dead letter', () => {
  const data = { address: '1 Quay', name: 'Ada', birthDate: '1815-12-10' };

  it('keeps only the fields allowed to the consumer for the entity type', () => {
    const seen = forViewer(letter(data), { billing: { customer: ['address', 'name'] } });
    expect(seen.envelope).toEqual({
      id: 'e1',
      type: 'CustomerAddressChanged',
      data: { address: '1 Quay', name: 'Ada' },
      dataRedacted: true,
    });
    expect((seen.originalEnvelope as { data: unknown }).data).toEqual({ address: '1 Quay', name: 'Ada' });
  });

  it('withholds the data entirely when the consumer has no list for the type', () => {
    const cases: (FieldAllowLists | undefined)[] = [
      undefined,
      {},
      { billing: { policy: ['x'] } },
      { claims: { customer: ['address'] } },
    ];
    for (const lists of cases) {
      const seen = forViewer(letter(data), lists);
      expect(seen.envelope).toEqual({ id: 'e1', type: 'CustomerAddressChanged', dataRedacted: true });
    }
  });

  it('leaves the rest of the dead letter as it is', () => {
    const seen = forViewer(letter(data), undefined);
    expect(seen).toMatchObject({ id: 1, reason: 'boom', attempts: 3, entityId: 'c-1' });
  });
});
