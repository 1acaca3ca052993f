/**
 * `npm run bench -- <name> [--quick] [--json] [--write] [--db pglite,postgres] [--pg url]`
 *
 * Sub-benchmarks are entries of `benchmarks`; adding one is adding a row there.
 */
import { Command, Option } from 'commander';
import { fileURLToPath } from 'node:url';
import type { Benchmark } from './lib/benchmark.js';
import { progress } from './lib/log.js';
import { describeMachine, machineLine } from './lib/machine.js';
import { noiseLine, watchNoise, type Noise } from './lib/noise.js';
import { renderTargets, renderText, type BenchReport } from './lib/report.js';
import { writeResults } from './lib/results-file.js';
import { sourceRevision } from './lib/revision.js';
import { openPGliteTarget, openPostgresTarget, type Target, type TargetKey } from './lib/targets.js';
import { appendBenchmark } from './append.js';
import { backboneBenchmark } from './backbone.js';
import { cdcBenchmark } from './cdc.js';
import { compareBenchmark } from './compare.js';
import { consumerBenchmark } from './consumer.js';
import { pullBenchmark } from './pull.js';
import { reconcileBenchmark } from './reconcile.js';
import { relayBenchmark } from './relay.js';
import { waitBenchmark } from './wait.js';

const benchmarks: Readonly<Record<string, Benchmark>> = {
  relay: relayBenchmark,
  append: appendBenchmark,
  backbone: backboneBenchmark,
  compare: compareBenchmark,
  consumer: consumerBenchmark,
  reconcile: reconcileBenchmark,
  cdc: cdcBenchmark,
  pull: pullBenchmark,
  wait: waitBenchmark,
};

const resultsPath = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
const defaultPg =
  process.env.TIDEMARK_BENCH_PG ?? process.env.TIDEMARK_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

interface CliOptions {
  quick: boolean;
  json: boolean;
  write: boolean;
  db: TargetKey[];
  pg: string;
  events?: number;
}

async function openTargets(keys: readonly TargetKey[], pg: string, pgliteVersion: string): Promise<Target[]> {
  const targets: Target[] = [];
  try {
    for (const key of keys) {
      targets.push(key === 'pglite' ? await openPGliteTarget(pgliteVersion) : await openPostgresTarget(pg));
    }
    return targets;
  } catch (error) {
    for (const t of targets) await t.close();
    throw error;
  }
}

async function runBenchmark(name: string, benchmark: Benchmark, options: CliOptions): Promise<void> {
  const started = performance.now();
  const machine = describeMachine();
  const revision = sourceRevision();
  progress(`${name}: ${machineLine(machine)}${options.quick ? ' (quick)' : ''}`);
  const targets = await openTargets(options.db, options.pg, machine.pglite);
  const watch = watchNoise(targets, machine.nproc);
  let report: BenchReport;
  let noise: Noise;
  try {
    report = await benchmark.run({
      quick: options.quick,
      targets,
      machine,
      ...(options.events !== undefined ? { events: options.events } : {}),
    });
  } finally {
    noise = watch.stop();
    for (const t of targets) await t.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const date = new Date();
  if (options.json) {
    const { table: _table, ...rest } = report;
    const run = { date: date.toISOString(), seconds, revision, machine, noise, quick: options.quick };
    process.stdout.write(`${JSON.stringify({ ...rest, ...run })}\n`);
  } else {
    const lines = [
      renderText(report.table),
      '',
      ...renderTargets(report.targets),
      '',
      `took ${seconds.toFixed(0)} s at ${revision}; ${noiseLine(noise)}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  if (options.write) {
    const flags = [
      options.quick ? '--quick' : '',
      options.events !== undefined ? `--events ${options.events}` : '',
      '--write',
    ]
      .filter(Boolean)
      .join(' ');
    writeResults(resultsPath, report, {
      date,
      command: `npm run bench -- ${name} ${flags}`,
      seconds,
      revision,
      machine,
      noise,
      databases: targets.map((t) => t.label),
    });
    progress(`wrote ${resultsPath}`);
  }
}

function parseEvents(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new Error(`--events takes a positive whole number of events, got ${JSON.stringify(value)}`);
  }
  return n;
}

function parseDatabases(value: string): TargetKey[] {
  const keys = value.split(',').map((v) => v.trim());
  for (const key of keys) {
    if (key !== 'pglite' && key !== 'postgres') {
      throw new Error(`--db takes pglite, postgres or both separated by a comma, got ${JSON.stringify(key)}`);
    }
  }
  return keys as TargetKey[];
}

const program = new Command('bench').description('Tidemark benchmarks').showHelpAfterError();
for (const [name, benchmark] of Object.entries(benchmarks)) {
  program
    .command(name)
    .description(benchmark.description)
    .option('--quick', 'short runs and small sizes: checks the harness, figures are rough', false)
    .option('--json', 'print one JSON object instead of the table', false)
    .option('--write', 'refresh this benchmark’s section of bench/RESULTS.md', false)
    .addOption(
      new Option('--db <list>', 'databases to run on: pglite, postgres or both')
        .default(['pglite', 'postgres'], 'pglite,postgres')
        .argParser(parseDatabases),
    )
    .option('--pg <url>', 'server PostgreSQL (each run uses a fresh schema, dropped afterwards)', defaultPg)
    .option('--events <n>', 'events per contender and phase (compare only; default 100,000)', parseEvents)
    .action((options: CliOptions) => runBenchmark(name, benchmark, options));
}

await program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
