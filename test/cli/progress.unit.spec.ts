import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { formatDuration, progressBar } from '../../src/cli/progress.js';

/** A stand-in for stderr that records what the bar draws. */
function terminal(isTTY: boolean) {
  const written: string[] = [];
  const stream = { isTTY, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream;
  return { stream, written };
}

describe('progress bar for long replay and rebuild work', () => {
  // The clock is set by hand, so rate and time left are exact.
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-11-26T09:00:00Z'));
  });
  afterEach(() => vi.useRealTimers());

  it('shows done/total, the rate and the time left once work has run for a while', () => {
    const { stream, written } = terminal(true);
    const bar = progressBar(stream);
    bar.update('replay billing', 0, 10_000);
    vi.advanceTimersByTime(2_000);
    bar.update('replay billing', 1_000, 10_000);
    expect(written.at(-1)).toContain('1000/10000 · 500/s · 18 s left replay billing');
    vi.advanceTimersByTime(20_000);
    bar.update('replay billing', 10_000, 10_000);
    // Finished: no time left is shown.
    expect(written.at(-1)).toMatch(/10000\/10000 · \d+\/s replay billing/);
    expect(written.at(-1)).not.toContain('left');
    bar.clear();
    expect(written.at(-1)).toBe('\r\x1b[K');
  });

  it('draws nothing when stderr is not a terminal, so piped output and --json stay clean', () => {
    const { stream, written } = terminal(false);
    const bar = progressBar(stream);
    bar.update('rebuild ledger', 1, 2);
    vi.advanceTimersByTime(1_000);
    bar.update('rebuild ledger', 2, 2);
    bar.clear();
    expect(written).toEqual([]);
  });

  it('writes time left in seconds, minutes or hours', () => {
    expect([formatDuration(12.2), formatDuration(125), formatDuration(7_380)]).toEqual([
      '13 s',
      '2 min 5 s',
      '2 h 3 min',
    ]);
  });
});
