import type { Command } from 'commander';
import { openPGlite } from '../../store/pglite/index.js';
import { openPostgres } from '../../store/pg/index.js';
import { InvalidArgumentError } from 'commander';
import { demoBackboneName, openDemoBackbone } from '../../demo/backbones.js';
import { backboneKinds, type BackboneKind } from '../../topology/backbone.js';
import { didYouMean } from '../../topology/suggest.js';
import { runDemo, type DemoReport, type RunningEstate } from '../../demo/run.js';
import { formatDemoReport } from '../../demo/report.js';
import { progressBar } from '../progress.js';
import { positiveInteger } from '../options.js';
import { serveDemo } from '../../server/demo.js';
import { TidemarkError } from '../../errors.js';

/** `--backbone <kind>`: one of the adapters a topology can name, or a message listing them. */
function backboneKind(value: string): BackboneKind {
  if ((backboneKinds as readonly string[]).includes(value)) return value as BackboneKind;
  throw new InvalidArgumentError(
    `unknown backbone '${value}'; use one of ${backboneKinds.join(', ')}${didYouMean(value, backboneKinds)}`,
  );
}

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
    .option('--distributed', 'run on server PostgreSQL and NATS JetStream instead of embedded')
    .option(
      '--postgres <url>',
      'server PostgreSQL for --distributed (default: $TIDEMARK_PG or postgres://postgres@127.0.0.1:5432/postgres)',
    )
    .option(
      '--nats <servers>',
      'NATS server(s) for --distributed (default: $TIDEMARK_NATS or 127.0.0.1:4222)',
    )
    .option(
      '--backbone <kind>',
      `run distributed over this backbone: ${backboneKinds.join(', ')} (--distributed alone: nats-jetstream)`,
      backboneKind,
    )
    .option(
      '--backbone-url <url>',
      'broker address for --backbone (default: $TIDEMARK_NATS, $TIDEMARK_RABBITMQ or $TIDEMARK_REDIS, else 127.0.0.1)',
    )
    .option(
      '--legacy',
      'also run a legacy policy admin whose writes reach Policy through CDC (needs --distributed or --postgres)',
    )
    .option(
      '--serve [port]',
      'afterwards keep the estate open with the dashboard on this port (default 7070)',
    )
    .action(
      async (opts: {
        json?: boolean;
        customers: number;
        changes: number;
        seed: number;
        faults: boolean;
        dataDir?: string;
        distributed?: boolean;
        postgres?: string;
        nats?: string;
        backbone?: BackboneKind;
        backboneUrl?: string;
        serve?: string | true;
        legacy?: boolean;
      }) => {
        const serverUrl =
          opts.postgres ?? process.env.TIDEMARK_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
        // Any chosen backbone runs the distributed estate; --distributed alone keeps NATS.
        const distributed = opts.distributed === true || opts.backbone !== undefined;
        const kind = opts.backbone ?? 'nats-jetstream';
        const brokerUrl = opts.backboneUrl ?? (kind === 'nats-jetstream' ? opts.nats : undefined);
        if (opts.backboneUrl !== undefined && kind === 'postgres-log') {
          throw new TidemarkError(
            'TM_INVALID_ARGUMENT',
            "--backbone postgres-log keeps its log in the demo's own database and takes no --backbone-url: " +
              'remove it, or give the database with --postgres <url>',
          );
        }
        // Logical replication is a server PostgreSQL feature: PGlite cannot be a CDC source.
        if (opts.legacy && !distributed && !opts.postgres) {
          throw new TidemarkError(
            'TM_INVALID_ARGUMENT',
            '--legacy captures the legacy policy admin through PostgreSQL logical replication, which the ' +
              'embedded database cannot do: add --distributed (server PostgreSQL + NATS), or --postgres <url> ' +
              'of a server PostgreSQL with wal_level=logical for the legacy system',
          );
        }
        const db = distributed
          ? await openPostgres({
              connectionString: serverUrl,
              applicationName: 'tidemark-demo',
              // Five consumers, two relays, a collector and the read API each hold connections.
              max: 40,
            })
          : await openPGlite(opts.dataDir ? { dataDir: opts.dataDir } : {});
        const bar = progressBar();
        const print = (report: DemoReport) =>
          process.stdout.write(
            opts.json ? `${JSON.stringify(report)}\n` : `${formatDemoReport(report, opts.seed)}\n`,
          );
        try {
          const report = await runDemo({
            db,
            customers: opts.customers,
            addressChanges: opts.changes,
            seed: opts.seed,
            faults: opts.faults,
            ...(opts.legacy ? { legacy: { connectionString: serverUrl } } : {}),
            ...(distributed
              ? {
                  mode: 'distributed' as const,
                  openBackbone: openDemoBackbone({
                    kind,
                    name: demoBackboneName(serverUrl),
                    ...(brokerUrl === undefined ? {} : { url: brokerUrl }),
                  }),
                }
              : {}),
            // Embedded, Communications gets a database of its own (as it would in production);
            // distributed, every context shares the server and keeps to its own schema.
            openCommunicationsDb: distributed
              ? () => Promise.resolve(db)
              : () => openPGlite(opts.dataDir ? { dataDir: `${opts.dataDir}-communications` } : {}),
            onProgress: opts.json ? undefined : bar.update,
            // With --serve the report is printed while the estate still runs, then the dashboard
            // serves it live (consumers apply what an operator releases) until Ctrl-C.
            ...(opts.serve
              ? {
                  serve: async (running: DemoReport, estate: RunningEstate) => {
                    bar.clear();
                    print(running);
                    await serveDemo({ db, port: opts.serve!, json: opts.json, estate });
                  },
                }
              : {}),
          });
          bar.clear();
          if (!opts.serve) print(report);
          if (!report.converged) process.exitCode = 1;
        } finally {
          bar.clear();
          await db.close();
        }
      },
    );
}
