import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketCount, bucketOf, pickFields, rowDigest } from '../../src/reconcile/index.js';

describe('reconcile digests', () => {
  it('a bucket digest (XOR of row digests) does not depend on the order rows were written', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string(), { minLength: 1, maxLength: 30 }), (ids) => {
        const digests = ids.map((id, i) => rowDigest(id, i + 1, { name: id }));
        const xor = (list: bigint[]) => list.reduce((a, b) => a ^ b, 0n);
        expect(xor([...digests].reverse())).toBe(xor(digests));
        // Removing a row is XOR-ing its digest again.
        expect(xor([...digests, digests[0]!])).toBe(xor(digests.slice(1)));
      }),
    );
  });

  it('row digests change with the version and with any allowed field, not with key order', () => {
    const base = rowDigest('c1', 3, { name: 'Ada', address: '1 Quay' });
    expect(rowDigest('c1', 3, { address: '1 Quay', name: 'Ada' })).toBe(base);
    expect(rowDigest('c1', 4, { name: 'Ada', address: '1 Quay' })).not.toBe(base);
    expect(rowDigest('c1', 3, { name: 'Ada', address: '2 Quay' })).not.toBe(base);
    expect(rowDigest('c2', 3, { name: 'Ada', address: '1 Quay' })).not.toBe(base);
    expect(base).toBeGreaterThanOrEqual(-(2n ** 63n));
    expect(base).toBeLessThan(2n ** 63n);
  });

  it('keeps only the fields the consumer may hold', () => {
    expect(pickFields({ name: 'Ada', iban: 'DE00', address: undefined }, ['name', 'address'])).toEqual({
      name: 'Ada',
    });
    expect(pickFields(null, ['name'])).toEqual({});
  });

  it('spreads ids over all 4,096 buckets', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 40_000; i++) {
      const bucket = bucketOf(`customer-${i}`);
      expect(bucket).toBeGreaterThanOrEqual(0);
      expect(bucket).toBeLessThan(bucketCount);
      seen.add(bucket);
    }
    expect(seen.size).toBe(bucketCount);
  });
});
