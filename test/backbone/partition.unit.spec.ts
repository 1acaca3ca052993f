import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { partitionOf } from '../../src/backbone/partition.js';

// Modulo 2^32 leaves the whole 32-bit hash, so it can be compared with published FNV-1a vectors.
const fullHash = (key: string) => partitionOf(key, 2 ** 32);

describe('partition of a key (stable hash)', () => {
  it('is FNV-1a 32 of the UTF-8 bytes: the published reference vectors', () => {
    expect(fullHash('')).toBe(0x811c9dc5);
    expect(fullHash('a')).toBe(0xe40c292c);
    expect(fullHash('foobar')).toBe(0xbf9cf968);
  });

  it('pins the partitions of sample keys, so a change of hash (which would reshuffle every key) fails here', () => {
    expect(['customer/42', 'kunde/Müller', 'a', ''].map((k) => partitionOf(k, 12))).toEqual([4, 10, 4, 1]);
  });

  it('given any key and partition count, then the partition is an integer in [0, count)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.integer({ min: 1, max: 4_096 }), (key, count) => {
        const p = partitionOf(key, count);
        expect(Number.isInteger(p) && p >= 0 && p < count).toBe(true);
        expect(partitionOf(key, count)).toBe(p);
      }),
    );
  });
});
