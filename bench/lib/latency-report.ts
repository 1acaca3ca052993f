/** How the relay and backbone benchmarks show and judge what they share: commit→applied, the drain. */
import type { LatencyFigures } from './latency.js';
import type { TableRow, TableSection, TargetCheck } from './report.js';

/** The relay benchmark's p99 target (issue 2), applied wherever commit→applied is measured. */
export const p99LimitMs = 25;

export const int = (n: number): string => Math.round(n).toLocaleString('en-US');
export const ms = (n: number): string => `${n.toFixed(1)} ms`;

/** The commit→applied section: one column per run. Stage rows appear when any run has them. */
export function latencySection<R>(
  title: string,
  runs: readonly R[],
  latencyOf: (run: R) => LatencyFigures,
): TableSection {
  const row = (label: string, cell: (l: LatencyFigures) => string): TableRow => ({
    label,
    cells: runs.map((r) => cell(latencyOf(r))),
  });
  const staged = runs.some((r) => latencyOf(r).stages !== undefined);
  const stage =
    (pick: (s: NonNullable<LatencyFigures['stages']>) => LatencyFigures['ms']) => (l: LatencyFigures) =>
      l.stages ? `${ms(pick(l.stages).p50)} / ${ms(pick(l.stages).p99)}` : '—';
  return {
    title,
    rows: [
      row('offered / achieved, events/s', (l) => `${int(l.offeredRate)} / ${int(l.achievedRate)}`),
      row('applied / produced', (l) => `${int(l.applied)} / ${int(l.produced)}`),
      row('p50', (l) => ms(l.ms.p50)),
      row('p95', (l) => ms(l.ms.p95)),
      row(`p99 (≤ ${p99LimitMs} ms)`, (l) => ms(l.ms.p99)),
      row('max', (l) => ms(l.ms.max)),
      ...(staged
        ? [
            row(
              'commit → in log, p50 / p99',
              stage((s) => s.commitToLog),
            ),
            row(
              'in log → applied, p50 / p99',
              stage((s) => s.logToApplied),
            ),
          ]
        : []),
      row(
        'bench process CPU / loop delay p99',
        (l) => `${l.node.cpuPct} % / ${ms(l.node.eventLoopDelayP99Ms)}`,
      ),
    ],
  };
}

export function latencyCheck(on: string, l: LatencyFigures): TargetCheck {
  return {
    name: `commit→applied p99 at ${int(l.offeredRate)} ev/s`,
    on,
    target: `≤ ${p99LimitMs} ms, every event applied, offered rate reached`,
    value: `${ms(l.ms.p99)}, ${int(l.applied)}/${int(l.produced)} applied, ${int(l.achievedRate)} ev/s`,
    met: l.ms.p99 <= p99LimitMs && l.applied === l.produced && l.achievedRate >= 0.98 * l.offeredRate,
  };
}

/** The relay must leave no committed event behind, counted where it copied them to. */
export function drainCheck(on: string, moved: number, events: number, where: string): TargetCheck {
  return {
    name: 'relay leaves no committed event behind',
    on,
    target: `all pre-appended events in the ${where}`,
    value: `${int(moved)} / ${int(events)}`,
    met: moved === events,
  };
}
