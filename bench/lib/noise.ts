import { readFileSync, readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { Target } from './targets.js';

export interface Noise {
  /** 1-minute load average before the benchmark started. */
  readonly loadAverageAtStart: number;
  /** Most client sessions of others seen on the server at once during the run. */
  readonly foreignSessionsMax: number;
  /**
   * CPU used by other processes (not this one, not PostgreSQL) during the run, in % of
   * the whole machine; null where /proc is not available.
   */
  readonly foreignCpuPct: number | null;
}

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux architecture Node runs on

/** CPU ticks so far of every process except this one and PostgreSQL's (which also serve us). */
function foreignTicks(): Map<number, number> | null {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return null;
  }
  const ticks = new Map<number, number>();
  for (const entry of entries) {
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      if (stat.slice(stat.indexOf('(') + 1, close) === 'postgres') continue;
      // Fields after the command name start at field 3; utime and stime are fields 14 and 15.
      const fields = stat.slice(close + 2).split(' ');
      ticks.set(pid, Number(fields[11]) + Number(fields[12]));
    } catch {
      // The process ended between listing and reading.
    }
  }
  return ticks;
}

/**
 * Samples what else runs on the machine while a benchmark does. A shared machine (another
 * test suite, another benchmark) can halve the figures; stating it beats guessing later.
 */
export function watchNoise(targets: readonly Target[], cpus: number, everyMs = 1_000): { stop(): Noise } {
  const loadAverageAtStart = Math.round(loadavg()[0]! * 100) / 100;
  const started = performance.now();
  let foreignSessionsMax = 0;
  let previous = foreignTicks();
  let spent = 0;
  const sample = async () => {
    const current = foreignTicks();
    if (previous && current) {
      // A process first seen now started during the run: all its ticks count.
      for (const [pid, ticks] of current) spent += ticks - (previous.get(pid) ?? 0);
    }
    previous = current;
    for (const target of targets) {
      const n = await target.foreignSessions().catch(() => 0);
      foreignSessionsMax = Math.max(foreignSessionsMax, n);
    }
  };
  // unref: a benchmark that throws must still let the process exit.
  const timer = setInterval(() => void sample(), everyMs).unref();
  return {
    stop() {
      clearInterval(timer);
      void sample();
      const seconds = (performance.now() - started) / 1000;
      const foreignCpuPct =
        previous === null ? null : Math.round((spent / TICKS_PER_SECOND / seconds / cpus) * 1000) / 10;
      return { loadAverageAtStart, foreignSessionsMax, foreignCpuPct };
    },
  };
}

export function noiseLine(noise: Noise): string {
  const cpu = noise.foreignCpuPct;
  const quiet = noise.foreignSessionsMax === 0 && (cpu === null || cpu < 5);
  return (
    `other processes used ${cpu === null ? 'an unknown share' : `${cpu} %`} of the CPU during the run, ` +
    `at most ${noise.foreignSessionsMax} other client session(s) were on the server, load average at start ` +
    `${noise.loadAverageAtStart}${quiet ? '' : ' — the machine was NOT quiet, so the figures are pessimistic'}`
  );
}
