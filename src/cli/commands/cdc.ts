import type { Command } from 'commander';
import { inspectCapture, resetCapture } from '../../cdc/admin.js';
import { TidemarkError } from '../../errors.js';
import { connect } from '../connect.js';

interface Globals {
  db?: string;
  schema?: string;
  source?: string;
  capture: string;
  json?: boolean;
}

function sourceOf(globals: Globals): string {
  const source = globals.source ?? process.env.TIDEMARK_CDC_SOURCE;
  if (!source) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      'no CDC source given: pass --source postgres://user@host:5432/legacy (or set TIDEMARK_CDC_SOURCE)',
    );
  }
  return source;
}

export function registerCdc(program: Command): void {
  const cdc = program
    .command('cdc')
    .description('inspect and reset change data captures from legacy PostgreSQL databases')
    .requiredOption('--capture <name>', 'capture name')
    .option('--source <address>', 'legacy source: postgres://… (default: $TIDEMARK_CDC_SOURCE)')
    .option('--db <address>', 'Tidemark database holding the outbox (default: $TIDEMARK_DB)')
    .option('--schema <name>', 'Tidemark schema (default: $TIDEMARK_SCHEMA or tidemark)')
    .option('--json', 'print JSON');

  cdc
    .command('status')
    .description('checkpoint LSN, slot health, WAL retained by the slot, snapshot progress')
    .action(async (_opts: unknown, cmd: Command) => {
      const globals = cmd.optsWithGlobals<Globals>();
      const { db, schema } = await connect(globals);
      try {
        const report = await inspectCapture({
          name: globals.capture,
          db,
          schema,
          source: { connectionString: sourceOf(globals) },
        });
        const snapshot = report.snapshot.map(
          (p) => `${p.table} ${p.done ? 'done' : `at ${JSON.stringify(p.lastKey)}`}`,
        );
        const human = [
          `capture ${report.name}: slot ${report.slot} ${report.slotState}, checkpoint ${report.checkpointLsn ?? 'none'}`,
          `  WAL retained by the slot: ${report.lagBytes ?? '?'} bytes`,
          `  snapshot: ${snapshot.length ? snapshot.join('; ') : 'none'}`,
        ].join('\n');
        process.stdout.write(globals.json ? `${JSON.stringify(report)}\n` : `${human}\n`);
      } finally {
        await db.close();
      }
    });

  cdc
    .command('reset')
    .description(
      'drop the slot and publication and forget the checkpoint: the next start re-seeds by snapshot',
    )
    .requiredOption('--yes', 'confirm: changes not yet captured are given up, consumers get a new snapshot')
    .action(async (_opts: unknown, cmd: Command) => {
      const globals = cmd.optsWithGlobals<Globals>();
      const { db, schema } = await connect(globals);
      try {
        await resetCapture({
          name: globals.capture,
          db,
          schema,
          source: { connectionString: sourceOf(globals) },
        });
        process.stdout.write(
          globals.json
            ? `${JSON.stringify({ reset: globals.capture })}\n`
            : `capture ${globals.capture} reset; start it again to re-seed, then reconcile its entity types\n`,
        );
      } finally {
        await db.close();
      }
    });
}
