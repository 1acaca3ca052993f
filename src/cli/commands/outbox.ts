import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { pruneOutbox } from '../../relay/prune-outbox.js';
import { durationMs } from '../../topology/cron.js';
import { connect } from '../connect.js';

const DAY = 86_400_000;

/** `12h`, `7d` (topology durations) or `0m`: how far back rows are kept regardless. */
function age(value: string): number {
  const text = value.trim();
  const ms = /^0[smhd]$/.test(text) ? 0 : durationMs(text);
  if (ms === undefined) {
    throw new InvalidArgumentError(
      `--older-than needs a number and a unit, m (minutes), h (hours) or d (days), e.g. 7d (got "${value}")`,
    );
  }
  return ms;
}

export function registerOutbox(program: Command): void {
  const outbox = program.command('outbox').description("maintain the authority's outbox");
  outbox
    .command('prune')
    .description(
      'delete outbox rows every relay has passed and a later version of the entity supersedes ' +
        '(each entity keeps its newest row)',
    )
    .option(
      '--db <address>',
      "the authority's database: postgres://… or pglite:<dir> (default: $TIDEMARK_DB)",
    )
    .option('--schema <name>', 'Tidemark schema (default: $TIDEMARK_SCHEMA or tidemark)')
    .option('--older-than <age>', 'only events older than this, e.g. 7d, 12h, 30m (default 7d)', age, 7 * DAY)
    .option('--dry-run', 'count what would be deleted, delete nothing')
    .option('--json', 'print JSON')
    .action(
      async (opts: { db?: string; schema?: string; olderThan: number; dryRun?: boolean; json?: boolean }) => {
        const { db, schema } = await connect(opts);
        try {
          const result = await pruneOutbox(db, {
            schema,
            olderThan: new Date(Date.now() - opts.olderThan),
            ...(opts.dryRun ? { dryRun: true } : {}),
          });
          if (opts.json) {
            process.stdout.write(`${JSON.stringify({ ...result, dryRun: opts.dryRun === true })}\n`);
            return;
          }
          const verb = opts.dryRun ? 'would delete' : 'deleted';
          const slowest = result.slowestRelay
            ? `; relay '${result.slowestRelay.name}' is furthest behind (${result.slowestRelay.relayed} events relayed): ` +
              'rows it has not passed are kept'
            : '; no relay has a checkpoint yet, so nothing has been relayed and nothing can go';
          process.stdout.write(`Outbox prune ${verb} ${result.pruned} rows${slowest}.\n`);
        } finally {
          await db.close();
        }
      },
    );
}
