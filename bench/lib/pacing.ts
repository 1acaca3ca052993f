import { sleep } from '../../src/util/wakeup.js';

/**
 * Calls `send(i)` at `rate` per second for `seconds`, on an open-loop schedule: call i is
 * due at start + i/rate whatever happened before, so one slow call does not hold back the
 * calls after it and hide the delay (no coordinated omission). At most `maxInFlight` run at
 * once; when that bound bites, calls fall behind schedule, and those still unsent when the
 * time is up are not sent at all, so a slow system yields a lower achieved rate rather than
 * a longer run. Resolves to how many were sent and the elapsed milliseconds.
 */
export async function paced(
  rate: number,
  seconds: number,
  maxInFlight: number,
  send: (i: number) => Promise<void>,
): Promise<{ sent: number; ms: number }> {
  const inFlight = new Set<Promise<void>>();
  const start = performance.now();
  const end = start + seconds * 1000;
  const count = Math.round(rate * seconds);
  let sent = 0;
  while (sent < count) {
    const wait = start + (sent * 1000) / rate - performance.now();
    if (wait >= 1) await sleep(wait);
    while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    if (performance.now() >= end) break;
    const p: Promise<void> = send(sent).finally(() => inFlight.delete(p));
    inFlight.add(p);
    sent++;
  }
  await Promise.all(inFlight);
  return { sent, ms: performance.now() - start };
}
