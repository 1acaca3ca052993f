import type { Command } from 'commander';
import { openPGlite } from '../../store/pglite/index.js';
import { runDemo } from '../../demo/run.js';
import { formatDemoReport } from '../../demo/report.js';
import { progressBar } from '../progress.js';
import { positiveInteger } from '../options.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the insurer estate embedded (no server needed) and show what propagated where')
    .option('--json', 'print one JSON object instead of the summary')
    .option('--customers <n>', 'customers to register', positiveInteger('--customers'), 40)
    .option('--changes <n>', 'address changes after registration', positiveInteger('--changes'), 160)
    .option(
      '--seed <n>',
      'seed for data and injected faults (same seed, same run)',
      positiveInteger('--seed'),
      7,
    )
    .option('--no-faults', 'deliver without injected duplicates, reordering or lost acknowledgements')
    .option('--data-dir <dir>', 'keep the embedded database in this directory (default: in memory)')
    .action(
      async (opts: {
        json?: boolean;
        customers: number;
        changes: number;
        seed: number;
        faults: boolean;
        dataDir?: string;
      }) => {
        const db = await openPGlite(opts.dataDir ? { dataDir: opts.dataDir } : {});
        const bar = progressBar();
        try {
          const report = await runDemo({
            db,
            customers: opts.customers,
            addressChanges: opts.changes,
            seed: opts.seed,
            faults: opts.faults,
            onProgress: opts.json ? undefined : bar.update,
          });
          bar.clear();
          process.stdout.write(
            opts.json ? `${JSON.stringify(report)}\n` : `${formatDemoReport(report, opts.seed)}\n`,
          );
          if (!report.converged) process.exitCode = 1;
        } finally {
          bar.clear();
          await db.close();
        }
      },
    );
}
