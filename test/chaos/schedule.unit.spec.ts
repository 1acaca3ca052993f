import { describe, expect, it } from 'vitest';
import { faultKinds, planFaults } from '../../chaos/schedule.js';
import { parseChaosArgs } from '../../chaos/options.js';
import { isTidemarkError } from '../../src/errors.js';

describe('chaos fault schedule', () => {
  it('is the same for the same seed and workload', () => {
    const a = planFaults({ seed: 42, events: 10_000, faults: 9 });
    const b = planFaults({ seed: 42, events: 10_000, faults: 9 });
    expect(b).toEqual(a);
    expect(a.faults).toHaveLength(9);
  });

  it('differs for another seed', () => {
    const a = planFaults({ seed: 42, events: 10_000, faults: 9 });
    const b = planFaults({ seed: 43, events: 10_000, faults: 9 });
    expect(b.faults).not.toEqual(a.faults);
  });

  it('uses every fault kind once there is room, in workload order, inside the busy part of the run', () => {
    for (const seed of [1, 2, 3, 99, 12345]) {
      const plan = planFaults({ seed, events: 5_000, faults: 6 });
      expect(new Set(plan.faults.map((f) => f.kind))).toEqual(new Set(faultKinds));
      const points = plan.faults.map((f) => f.atEvent);
      expect(points).toEqual([...points].sort((x, y) => x - y));
      expect(Math.min(...points)).toBeGreaterThanOrEqual(250);
      expect(Math.max(...points)).toBeLessThanOrEqual(4_250);
      for (const f of plan.faults.filter((f) => f.kind === 'kill-consumer')) {
        expect([0, 1, 2]).toContain(f.target);
      }
    }
  });
});

describe('chaos arguments', () => {
  it('reads the documented flags', () => {
    const options = parseChaosArgs(['--', '--events', '500', '--keys', '50', '--seed', '9', '--json']);
    expect(options).toMatchObject({ events: 500, keys: 50, seed: 9, json: true });
  });

  it.each([
    [['--events', 'many'], /--events must be an integer/],
    [['--poison-rate', '2'], /--poison-rate must be a number from 0 to 0.5/],
    [['--events', '10', '--keys', '20'], /must be at least --keys/],
    [['--frobnicate'], /unknown option "--frobnicate"/],
  ])('refuses %j with a message naming the problem', (argv, message) => {
    let caught: unknown;
    try {
      parseChaosArgs(argv);
    } catch (error) {
      caught = error;
    }
    expect(isTidemarkError(caught, 'TM_INVALID_ARGUMENT')).toBe(true);
    expect((caught as Error).message).toMatch(message);
    expect((caught as Error).message).toMatch(/usage: npm run chaos/);
  });
});
