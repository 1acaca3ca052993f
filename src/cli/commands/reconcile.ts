import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { createProducer } from '../../producer/index.js';
import { createPullClient } from '../../pull/index.js';
import {
  createReconciler,
  driftClasses,
  pullSource,
  type DriftClass,
  type RunReport,
} from '../../reconcile/index.js';
import { describeScope } from '../../reconcile/scopes.js';
import { scopeKey } from '../../reconcile/scope.js';
import type { Db } from '../../store/db.js';
import { quoteIdentifier } from '../../store/identifier.js';
import { loadTopology, repairPolicies, type RepairPolicy, type Topology } from '../../topology/index.js';
import { connect } from '../connect.js';
import { positiveInteger } from '../options.js';
import { progressBar } from '../progress.js';

interface ReconcileOptions {
  flow: string[];
  db?: string;
  schema?: string;
  authorityDb?: string;
  authoritySchema?: string;
  file?: string;
  repair?: RepairPolicy;
  authorityUrl?: string;
  settleMs: number;
  dryRun?: boolean;
  json?: boolean;
}

function repairPolicy(value: string): RepairPolicy {
  if (!(repairPolicies as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`--repair must be one of ${repairPolicies.join(', ')} (got "${value}")`);
  }
  return value as RepairPolicy;
}

function human(report: RunReport, handedOver: readonly DriftClass[]): string {
  const found = driftClasses.map((c) => `${report.found[c]} ${c}`).join(', ');
  const outcomes = Object.entries(report.outcomes)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  const read = report.rowsRead;
  return [
    `Run #${report.runId} of ${report.flow}${report.dryRun ? ' (dry run)' : ''}: ${found}.`,
    `  outcomes   ${outcomes || 'nothing to do'}`,
    `  read       ${read.buckets} bucket digests, ${read.subBuckets} sub-bucket digests and ${read.rows} row digests ` +
      `in ${report.bucketsDiffering} differing buckets, ` +
      `${read.rechecks} rechecks, ${read.confirmations} rows to confirm`,
    `  reconciled ${report.reconciled} versions marked in the ledger · ${report.durationMs} ms`,
    ...report.examples
      .slice(0, 5)
      .map(
        (f) =>
          `  e.g.       ${f.entityId}: ${f.class} (authority v${f.authorityVersion ?? '-'}, replica v${f.replicaVersion ?? '-'})`,
      ),
    ...(handedOver.length
      ? [
          `  note       ${handedOver.join(', ')} rows need the consumer's handlers to repair (rehydrate, tombstone), ` +
            'so this command opened exceptions for them; run createReconciler in the consumer to repair them',
        ]
      : []),
  ].join('\n');
}

async function optionalTopology(file: string | undefined): Promise<Topology | undefined> {
  if (file) return loadTopology(file);
  return existsSync('tidemark.yaml') ? loadTopology('tidemark.yaml') : undefined;
}

export function registerReconcile(program: Command): void {
  program
    .command('reconcile')
    .description("compare a flow's replica with its authority (digests first) and repair the differences")
    .requiredOption('--flow <name...>', 'the flow(s) to reconcile')
    .option('--db <address>', "the consumer's database: postgres://… or pglite:<dir> (default: $TIDEMARK_DB)")
    .option('--schema <name>', "the consumer's Tidemark schema (default: $TIDEMARK_SCHEMA or tidemark)")
    .option('--authority-db <address>', "the authority's database (default: the consumer's)")
    .option('--authority-schema <name>', "the authority's Tidemark schema (default: --schema)")
    .option(
      '--file <path>',
      'topology file: checks the flow and gives its repair (default: tidemark.yaml if present)',
    )
    .option('--repair <policy>', `override the flow's repair: ${repairPolicies.join(', ')}`, repairPolicy)
    .option('--authority-url <url>', "the authority's read API, for republish")
    .option('--settle-ms <ms>', 'wait before rechecking what differs', positiveInteger('--settle-ms'), 2000)
    .option('--dry-run', 'compare and report only')
    .option('--json', 'print one JSON report per flow')
    .action(async (opts: ReconcileOptions) => {
      const topology = await optionalTopology(opts.file);
      const replica = await connect({ db: opts.db, schema: opts.schema });
      let authorityDb: Db = replica.db;
      const authoritySchema = opts.authoritySchema ?? replica.schema;
      quoteIdentifier(authoritySchema, '--authority-schema');
      const bar = progressBar();
      try {
        if (opts.authorityDb)
          authorityDb = (await connect({ db: opts.authorityDb, schema: authoritySchema })).db;
        for (const flow of opts.flow) {
          const base = opts.repair ?? topology?.reconciliationOf(flow)?.repair ?? 'exception';
          // Rehydrate and tombstone run the consumer's handlers, which live in its process, not here.
          const classPolicy = (cls: DriftClass): RepairPolicy =>
            cls === 'orphan'
              ? base === 'exception'
                ? 'exception'
                : 'tombstone'
              : base === 'republish' || base === 'rehydrate'
                ? base
                : 'exception';
          const handedOver = driftClasses.filter((c) => ['rehydrate', 'tombstone'].includes(classPolicy(c)));
          const repair = Object.fromEntries(
            driftClasses.map((c) => [c, handedOver.includes(c) ? 'exception' : classPolicy(c)]),
          ) as Record<DriftClass, RepairPolicy>;
          const authorityScope = await describeScope(
            authorityDb,
            quoteIdentifier(authoritySchema),
            scopeKey('authority', flow),
          );
          const needsState = Object.values(repair).includes('republish') && !opts.dryRun;
          const client =
            needsState && opts.authorityUrl && authorityScope
              ? createPullClient({
                  baseUrl: opts.authorityUrl,
                  consumer:
                    (
                      await describeScope(
                        replica.db,
                        quoteIdentifier(replica.schema),
                        scopeKey('replica', flow),
                      )
                    )?.context ?? 'tidemark-cli',
                })
              : undefined;
          try {
            const reconciler = createReconciler({
              flow,
              topology,
              authority: { db: authorityDb, schema: authoritySchema },
              replica: { db: replica.db, schema: replica.schema },
              repair,
              settleMs: opts.settleMs,
              ...(client && authorityScope
                ? {
                    source: pullSource(client, authorityScope.entityType),
                    producer: createProducer({ context: authorityScope.context, schema: authoritySchema }),
                  }
                : {}),
            });
            const report = await reconciler.run({
              dryRun: opts.dryRun,
              onProgress: (p) =>
                bar.update(
                  p.phase === 'compare' ? 'comparing digests' : 'rechecking and repairing',
                  p.done,
                  p.total,
                ),
            });
            bar.clear();
            process.stdout.write(
              opts.json ? `${JSON.stringify(report)}\n` : `${human(report, opts.dryRun ? [] : handedOver)}\n`,
            );
            const open = (report.outcomes.exception ?? 0) + (report.outcomes.failed ?? 0);
            if (open > 0 && !process.exitCode) process.exitCode = 3;
          } finally {
            client?.close();
          }
        }
      } finally {
        bar.clear();
        if (authorityDb !== replica.db) await authorityDb.close();
        await replica.db.close();
      }
    });
}
