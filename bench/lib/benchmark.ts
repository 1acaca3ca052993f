import type { Machine } from './machine.js';
import type { BenchReport } from './report.js';
import type { Target } from './targets.js';

export interface BenchContext {
  /** Smaller sizes and shorter runs: a smoke test of the harness, not figures to publish. */
  readonly quick: boolean;
  /** The databases chosen for this run, already open; the benchmark must not close them. */
  readonly targets: readonly Target[];
  readonly machine: Machine;
  /** `--events`: workload size for benchmarks that take one (compare); undefined for their default. */
  readonly events?: number;
}

/** One entry of the `npm run bench -- <name>` table. */
export interface Benchmark {
  readonly description: string;
  run(context: BenchContext): Promise<BenchReport>;
}
