import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { createDeadLetterAdmin, type DeadLetter, type DeadLetterDetail } from '../../dlq/index.js';
import { TidemarkError } from '../../errors.js';
import { connect } from '../connect.js';
import { positiveInteger } from '../options.js';
import { currentUser } from '../user.js';

interface Globals {
  db?: string;
  schema?: string;
  json?: boolean;
  actor?: string;
  reason?: string;
}

const statuses = ['active', 'all', 'open', 'retry', 'parked', 'resolved', 'skipped'] as const;

function status(value: string): (typeof statuses)[number] {
  if (!(statuses as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`--status must be one of ${statuses.join(', ')} (got "${value}")`);
  }
  return value as (typeof statuses)[number];
}

function table(rows: readonly DeadLetter[]): string {
  if (rows.length === 0) return 'No dead letters.';
  const lines = rows.map((d) =>
    [
      `#${d.id}`,
      d.status,
      d.consumer,
      `${d.entityType ?? '?'}/${d.entityId ?? '?'}@${d.entityVersion ?? '?'}`,
      `${d.attempts}x`,
      d.code,
      d.status === 'open' && d.parkedBehind > 0 ? `(${d.parkedBehind} parked behind)` : '',
      d.reason.length > 70 ? `${d.reason.slice(0, 69)}…` : d.reason,
    ].join('  '),
  );
  return lines.join('\n');
}

function describe(d: DeadLetterDetail): string {
  return [
    `Dead letter #${d.id} (${d.status}) for consumer ${d.consumer}`,
    `  event      ${d.eventId} from ${d.authority}: ${d.entityType}/${d.entityId} version ${d.entityVersion}`,
    `  key        ${d.partitionKey}${d.parkedBehind ? ` (${d.parkedBehind} events parked behind it)` : ''}`,
    `  failure    ${d.code} after ${d.attempts} attempt(s): ${d.reason}`,
    `  since      ${d.createdAt} (updated ${d.updatedAt})`,
    `  envelope   ${JSON.stringify(d.envelope)}`,
    ...(d.originalEnvelope ? [`  original   ${JSON.stringify(d.originalEnvelope)}`] : []),
  ].join('\n');
}

async function withAdmin<T>(
  globals: Globals,
  work: (admin: ReturnType<typeof createDeadLetterAdmin>) => Promise<T>,
) {
  const { db, schema } = await connect(globals);
  try {
    return await work(createDeadLetterAdmin({ db, schema }));
  } finally {
    await db.close();
  }
}

function print(globals: Globals, value: unknown, human: string): void {
  process.stdout.write(globals.json ? `${JSON.stringify(value)}\n` : `${human}\n`);
}

function parseData(opts: { data?: string; dataFile?: string }): unknown {
  const text = opts.data ?? (opts.dataFile ? readFileSync(opts.dataFile, 'utf8') : undefined);
  if (text === undefined) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      'edit needs the new payload: --data \'{"address":"…"}\' or --data-file payload.json',
    );
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `the new payload is not valid JSON: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
}

export function registerDlq(program: Command): void {
  const dlq = program
    .command('dlq')
    .description('inspect and repair dead letters (events a consumer could not apply)')
    .option('--db <address>', 'consumer database: postgres://… or pglite:<dir> (default: $TIDEMARK_DB)')
    .option('--schema <name>', 'Tidemark schema (default: $TIDEMARK_SCHEMA or tidemark)')
    .option('--json', 'print JSON');

  const id = (value: string) => positiveInteger('<id>')(value);
  const action = (cmd: Command) =>
    cmd
      .requiredOption('--reason <text>', 'why (recorded in the audit log)')
      .option('--actor <name>', 'who (default: the current user)');

  dlq
    .command('list')
    .description('list dead letters, oldest first')
    .option('--consumer <name>', 'only this consumer')
    .option('--status <status>', `one of ${statuses.join(', ')}`, status, 'active')
    .option('--limit <n>', 'at most this many', positiveInteger('--limit'), 100)
    .action(
      async (opts: { consumer?: string; status: (typeof statuses)[number]; limit: number }, cmd: Command) => {
        const globals = cmd.optsWithGlobals<Globals>();
        const rows = await withAdmin(globals, (admin) => admin.list(opts));
        print(globals, rows, table(rows));
      },
    );

  dlq
    .command('show <id>')
    .description('show one dead letter with its envelope and failure')
    .action(async (raw: string, _opts: unknown, cmd: Command) => {
      const globals = cmd.optsWithGlobals<Globals>();
      const letter = await withAdmin(globals, (admin) => admin.show(id(raw)));
      print(globals, letter, describe(letter));
    });

  action(dlq.command('retry <id>').description('let the consumer try the event again (after a fix)')).action(
    async (raw: string, _opts: unknown, cmd: Command) => {
      const globals = cmd.optsWithGlobals<Globals>();
      const letter = await withAdmin(globals, (admin) =>
        admin.retry(id(raw), { actor: globals.actor ?? currentUser(), reason: globals.reason ?? '' }),
      );
      print(
        globals,
        letter,
        `Dead letter #${letter.id} released for retry; the consumer applies it and the events parked behind it in order.`,
      );
    },
  );

  action(dlq.command('skip <id>').description('give up on the event; its key moves on without it')).action(
    async (raw: string, _opts: unknown, cmd: Command) => {
      const globals = cmd.optsWithGlobals<Globals>();
      const letter = await withAdmin(globals, (admin) =>
        admin.skip(id(raw), { actor: globals.actor ?? currentUser(), reason: globals.reason ?? '' }),
      );
      print(
        globals,
        letter,
        `Dead letter #${letter.id} skipped; it will never take effect in ${letter.consumer}.`,
      );
    },
  );

  action(
    dlq
      .command('edit <id>')
      .description('replace the event data (validated; the original is kept) and retry')
      .option('--data <json>', 'the new data as JSON')
      .option('--data-file <path>', 'read the new data from a JSON file'),
  ).action(async (raw: string, opts: { data?: string; dataFile?: string }, cmd: Command) => {
    const globals = cmd.optsWithGlobals<Globals>();
    const data = parseData(opts);
    const letter = await withAdmin(globals, (admin) =>
      admin.edit(id(raw), data, { actor: globals.actor ?? currentUser(), reason: globals.reason ?? '' }),
    );
    print(globals, letter, `Dead letter #${letter.id} edited (original kept) and released for retry.`);
  });
}
