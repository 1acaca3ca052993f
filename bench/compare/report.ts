import type { BenchReport, TableSection, TargetCheck } from '../lib/report.js';
import type { CompareFigures, ContenderFigures } from './run.js';
import type { PhaseFigures } from './phase.js';

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => (Number.isFinite(n) ? `${n.toFixed(1)} ms` : '–');
const pct = (n: number) => `${n >= 0 ? '+' : ''}${n.toFixed(1)} %`;
const times = (n: number) => (Number.isFinite(n) ? `× ${n.toFixed(2)}` : '–');

const phases = (c: ContenderFigures): PhaseFigures[] =>
  [c.burst, c.atRate, c.atEighty].filter((p): p is PhaseFigures => p !== undefined);
const lost = (c: ContenderFigures) => phases(c).reduce((n, p) => n + p.lost, 0);
const duplicated = (c: ContenderFigures) => phases(c).reduce((n, p) => n + p.duplicated, 0);
/** Ran every phase and neither lost nor duplicated an effect. */
export const isCorrect = (c: ContenderFigures) => !c.skipped && lost(c) === 0 && duplicated(c) === 0;

function best(
  contenders: readonly ContenderFigures[],
  pick: (c: ContenderFigures) => number | undefined,
  high: boolean,
) {
  const values = contenders
    .filter(isCorrect)
    .map(pick)
    .filter((v): v is number => v !== undefined && Number.isFinite(v) && v > 0);
  if (values.length === 0) return Number.NaN;
  return high ? Math.max(...values) : Math.min(...values);
}

export function compareReport(figures: CompareFigures): BenchReport {
  const { contenders, settings } = figures;
  const ran = contenders;
  const cell = (f: (c: ContenderFigures) => string) => ran.map((c) => (c.skipped ? '–' : f(c)));
  const bestTps = best(ran, (c) => c.burst?.appendTps, true);
  const bestThroughput = best(ran, (c) => c.burst?.appliedPerSec, true);
  const bestP99 = best(ran, (c) => c.atRate?.latencyMs.p99, false);
  const latencyRows = (name: string, pick: (c: ContenderFigures) => PhaseFigures | undefined) => [
    {
      label: `${name}: offered / achieved, ev/s`,
      cells: cell((c) => {
        const p = pick(c);
        return p && p.offer.kind === 'paced' ? `${int(p.offer.rate)} / ${int(p.appendTps)}` : '–';
      }),
    },
    {
      label: `${name}: p50 / p95`,
      cells: cell((c) => {
        const p = pick(c);
        return p ? `${ms(p.latencyMs.p50)} / ${ms(p.latencyMs.p95)}` : '–';
      }),
    },
    { label: `${name}: p99`, cells: cell((c) => ms(pick(c)?.latencyMs.p99 ?? Number.NaN)) },
  ];
  const sections: TableSection[] = [
    {
      title: 'correctness (all phases; counted from the projection’s effects log)',
      rows: [
        {
          label: 'events committed',
          cells: cell((c) => int(phases(c).reduce((n, p) => n + p.committed, 0))),
        },
        { label: 'events lost', cells: cell((c) => int(lost(c))) },
        { label: 'duplicate effects', cells: cell((c) => int(duplicated(c))) },
        {
          label: 'correct',
          cells: ran.map((c) => (c.skipped ? `not run: ${c.skipped}` : isCorrect(c) ? 'yes' : 'NO')),
        },
      ],
    },
    {
      title: `burst: ${int(settings.events)} business transactions, ${settings.clients} clients`,
      rows: [
        { label: 'business tx with event, tps', cells: cell((c) => int(c.burst!.appendTps)) },
        {
          label: `vs bare UPDATE (${int(figures.bareTps)} tps), time/tx`,
          cells: cell((c) => pct((figures.bareTps / c.burst!.appendTps - 1) * 100)),
        },
        { label: 'tps vs best correct', cells: cell((c) => times(c.burst!.appendTps / bestTps)) },
        { label: 'end-to-end applied, ev/s', cells: cell((c) => int(c.burst!.appliedPerSec)) },
        {
          label: 'applied ev/s vs best correct',
          cells: cell((c) => times(c.burst!.appliedPerSec / bestThroughput)),
        },
        {
          label: 'commit → applied p50 / p99',
          cells: cell((c) => `${ms(c.burst!.latencyMs.p50)} / ${ms(c.burst!.latencyMs.p99)}`),
        },
        { label: 'Node CPU s per 10k events', cells: cell((c) => c.burst!.nodeCpuSecondsPer10k.toFixed(2)) },
      ],
    },
    {
      title: 'commit → applied at a fixed offered rate',
      rows: [
        ...latencyRows(`${int(settings.rate)} ev/s`, (c) => c.atRate),
        {
          label: `p99 vs best correct`,
          cells: cell((c) => times((c.atRate?.latencyMs.p99 ?? Number.NaN) / bestP99)),
        },
        ...(settings.atEightyPercent ? latencyRows('80 % of own max', (c) => c.atEighty) : []),
      ],
    },
  ];
  const targets: TargetCheck[] = ran
    .filter((c) => c.key.startsWith('tidemark'))
    .flatMap((c) => [
      {
        name: 'no event lost or applied twice',
        on: c.label,
        target: '0 / 0',
        value: c.skipped ? `not run: ${c.skipped}` : `${lost(c)} lost / ${duplicated(c)} duplicated`,
        met: isCorrect(c),
      },
      {
        name: 'commit→applied p99 at 1,000 ev/s',
        on: c.label,
        target: '≤ 25 ms, rate reached',
        value: c.atRate ? `${ms(c.atRate.latencyMs.p99)} at ${int(c.atRate.appendTps)} ev/s` : 'not run',
        met: !!c.atRate && c.atRate.latencyMs.p99 <= 25 && c.atRate.appendTps >= settings.rate * 0.95,
      },
    ]);
  return {
    name: 'compare',
    title: 'Tidemark vs a naive outbox, Emmett and pg-boss on the same workload',
    figures,
    table: { columns: ran.map((c) => c.label), sections },
    targets,
    method: [
      `Server PostgreSQL only (NATS for Tidemark over nats-jetstream); contenders run one after another in this one Node process, each phase on a fresh schema dropped afterwards. Workload: ${int(settings.keys)} accounts, ${int(settings.payloadBytes)}-byte payloads; a business transaction is one UPDATE of an account row plus the event, committed together (Emmett: the UPDATE is an inline projection inside its append transaction; pg-boss: send() joins the transaction through its db option).`,
      'Every consumer upserts a projection row and inserts one row per application into an effects log with the database clock (clock_timestamp()) inside its apply transaction. Lost = committed events (ids returned after the commit) with no effect once the effects log stopped growing for 3 s; duplicate effects = effect rows beyond the first per event. Latency = first effect time minus the time the producer’s commit resolved in Node (same host clock).',
      `Burst: ${settings.clients} closed-loop clients commit the events as fast as they can while the contender’s pipeline runs alongside; tps is over the producing time, end-to-end applied ev/s over first commit → last first effect. Paced: an open-loop producer at the offered rate (no coordinated omission), ${int(Math.min(settings.pacedEvents, settings.events))} events; “80 % of own max” uses 80 % of the contender’s burst applied ev/s. Ratios are against the best contender that lost and duplicated nothing.`,
      'Settings: Tidemark relay batch 1,000, 12 partitions, consumer defaults; naive outbox polls every 10 ms when idle, batches of 1,000, set-based apply; Emmett pulling consumer batch 100 every 50 ms; pg-boss 2 workers, batch 200, polling 0.5 s (its minimum). Node CPU counts only this process (producers and all clients), not PostgreSQL or NATS.',
    ],
  };
}
