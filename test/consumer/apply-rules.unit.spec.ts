import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decide } from '../../src/consumer/apply-rules.js';

describe('apply rules', () => {
  it('applies a domain event only at the next version, holds later ones, skips earlier ones', () => {
    expect(decide('domain', 4, 3)).toBe('apply');
    expect(decide('domain', 6, 3)).toBe('gap');
    expect(decide('domain', 3, 3)).toBe('duplicate');
    expect(decide('domain', 1, 3)).toBe('duplicate');
  });

  it('applies state, notice and tombstone events whenever they are newer', () => {
    for (const kind of ['state', 'notice', 'tombstone'] as const) {
      expect(decide(kind, 9, 3)).toBe('apply');
      expect(decide(kind, 3, 3)).toBe('duplicate');
      expect(decide(kind, 2, 3)).toBe('duplicate');
    }
  });

  it('never applies anything that is not newer than what is stored', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('domain', 'state', 'notice', 'tombstone' as const),
        fc.integer({ min: 1, max: 1_000 }),
        fc.integer({ min: 0, max: 1_000 }),
        (kind, incoming, stored) => {
          const decision = decide(kind, incoming, stored);
          if (incoming <= stored) return decision === 'duplicate';
          return decision === 'apply' || (kind === 'domain' && decision === 'gap' && incoming > stored + 1);
        },
      ),
    );
  });
});
