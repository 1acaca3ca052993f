import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { operationRequests, type OperationKind, type OperationRequest } from '../../operations/index.js';
import { TidemarkError } from '../../errors.js';
import { sleep } from '../../util/wakeup.js';
import { connect } from '../connect.js';
import { positiveInteger } from '../options.js';
import { progressBar } from '../progress.js';
import { currentUser } from '../user.js';

interface ReplayOptions extends SubmitOptions {
  from?: PositionOrTime;
  to?: PositionOrTime;
  fromPosition?: number;
  fromTime?: Date;
  toPosition?: number;
  toTime?: Date;
  keys?: string[];
}

function time(option: string) {
  return (value: string): Date => {
    const parsed = new Date(value);
    if (Number.isNaN(parsed.getTime())) {
      throw new InvalidArgumentError(
        `${option} needs a date and time such as 2026-11-26T09:00:00Z (got "${value}")`,
      );
    }
    return parsed;
  };
}

type PositionOrTime = { readonly position: number } | { readonly time: Date };

/** `--from 1200` is a log position, `--from 2026-11-26T09:00:00Z` a time. */
function positionOrTime(option: string) {
  const asPosition = positiveInteger(option);
  const asTime = time(option);
  return (value: string): PositionOrTime => {
    if (/^\d+$/.test(value.trim())) return { position: asPosition(value.trim()) };
    try {
      return { time: asTime(value) };
    } catch {
      throw new InvalidArgumentError(
        `${option} needs a log position (a whole number, e.g. 1200) or a time such as 2026-11-26T09:00:00Z (got "${value}")`,
      );
    }
  };
}

/** Folds `--from`/`--to` into the explicit options, refusing a bound given twice. */
function resolveBounds(opts: ReplayOptions): void {
  for (const [short, position, timeOption] of [
    ['from', 'fromPosition', 'fromTime'],
    ['to', 'toPosition', 'toTime'],
  ] as const) {
    const bound = opts[short];
    if (bound === undefined) continue;
    if (opts[position] !== undefined || opts[timeOption] !== undefined) {
      throw new TidemarkError(
        'TM_INVALID_ARGUMENT',
        `give --${short} or --${short}-position/--${short}-time, not both`,
      );
    }
    if ('position' in bound) opts[position] = bound.position;
    else opts[timeOption] = bound.time;
  }
}

function summary(request: OperationRequest): string {
  const title = request.kind === 'rebuild' ? 'Rebuild' : 'Replay';
  if (request.status === 'failed') return `${title} #${request.id} failed: ${request.error}`;
  const r = request.result ?? {};
  if (request.kind === 'rebuild') {
    return (
      `Rebuild #${request.id} of ${request.consumer} replayed ${r.replayed} events (${r.applied} took effect) into ` +
      `fresh copies of ${(r.tables as string[] | undefined)?.join(', ')} and swapped them in at position ${r.position}.`
    );
  }
  return (
    `Replay #${request.id} for ${request.consumer} delivered ${r.delivered ?? request.done} of ${r.total ?? request.total} events: ` +
    `${r.applied ?? 0} applied, ${r.duplicate ?? 0} already there, ${r.held ?? 0} held for order, ` +
    `${r['dead-lettered'] ?? 0} dead-lettered, ${r.parked ?? 0} parked, ${r.ignored ?? 0} ignored.`
  );
}

async function follow(
  requests: ReturnType<typeof operationRequests>,
  start: OperationRequest,
  opts: { timeout: number; json?: boolean },
  bar: ReturnType<typeof progressBar>,
): Promise<OperationRequest> {
  let request = start;
  const deadline = Date.now() + opts.timeout * 1000;
  let hinted = false;
  while ((request.status === 'pending' || request.status === 'running') && Date.now() < deadline) {
    await sleep(200);
    request = await requests.get(request.id);
    if (request.status === 'running' && request.total !== null)
      bar.update('events replayed', request.done, request.total);
    if (request.status === 'pending' && !hinted && Date.now() - Date.parse(request.requestedAt) > 10_000) {
      hinted = true;
      if (!opts.json) {
        process.stderr.write(
          `No running instance of consumer '${request.consumer}' has taken request #${request.id} yet; it stays queued until one does.\n`,
        );
      }
    }
  }
  bar.clear();
  if (opts.json) process.stdout.write(`${JSON.stringify(request)}\n`);
  else if (request.status === 'pending' || request.status === 'running') {
    process.stdout.write(
      `Request #${request.id} is still ${request.status} (${request.done}/${request.total ?? '?'}); follow it with "tidemark operation ${request.id}".\n`,
    );
  } else process.stdout.write(`${summary(request)}\n`);
  return request;
}

interface SubmitOptions {
  consumer: string;
  db?: string;
  schema?: string;
  reason: string;
  actor?: string;
  wait: boolean;
  timeout: number;
  json?: boolean;
}

/** Records an operation request (audited) and, unless --no-wait, follows it to its end. */
async function submitAndFollow(
  opts: SubmitOptions,
  kind: OperationKind,
  params: Record<string, unknown>,
): Promise<void> {
  const { db, schema } = await connect(opts);
  const bar = progressBar();
  try {
    const requests = operationRequests(db, schema);
    const request = await requests.request({
      consumer: opts.consumer,
      kind,
      params,
      actor: opts.actor ?? currentUser(),
      reason: opts.reason,
    });
    if (!opts.wait) {
      const title = kind === 'rebuild' ? 'Rebuild' : 'Replay';
      process.stdout.write(
        opts.json
          ? `${JSON.stringify(request)}\n`
          : `${title} #${request.id} requested; a running instance of ${opts.consumer} will carry it out.\n`,
      );
      return;
    }
    const finished = await follow(requests, request, opts, bar);
    if (finished.status === 'failed') process.exitCode = 1;
  } finally {
    bar.clear();
    await db.close();
  }
}

export function registerOperations(program: Command): void {
  program
    .command('operation <id>')
    .description('show (and follow) an operation request such as a replay')
    .option('--db <address>', "the consumer's database: postgres://… or pglite:<dir> (default: $TIDEMARK_DB)")
    .option('--schema <name>', 'Tidemark schema (default: $TIDEMARK_SCHEMA or tidemark)')
    .option('--timeout <seconds>', 'stop following after this long', positiveInteger('--timeout'), 3600)
    .option('--json', 'print JSON')
    .action(async (raw: string, opts: { db?: string; schema?: string; timeout: number; json?: boolean }) => {
      const id = positiveInteger('<id>')(raw);
      const { db, schema } = await connect(opts);
      const bar = progressBar();
      try {
        const requests = operationRequests(db, schema);
        const request = await follow(requests, await requests.get(id), opts, bar);
        if (request.status === 'failed') process.exitCode = 1;
      } finally {
        bar.clear();
        await db.close();
      }
    });

  program
    .command('replay')
    .description('deliver a range of history to one consumer again (a running instance of it does the work)')
    .requiredOption('--consumer <name>', 'the consumer to replay into')
    .option('--db <address>', "the consumer's database: postgres://… or pglite:<dir> (default: $TIDEMARK_DB)")
    .option('--schema <name>', 'Tidemark schema (default: $TIDEMARK_SCHEMA or tidemark)')
    .option(
      '--from <position|time>',
      'where to start: a log position (1200) or a time (2026-11-26T09:00:00Z)',
      positionOrTime('--from'),
    )
    .option('--to <position|time>', 'where to stop: a log position or a time', positionOrTime('--to'))
    .option('--from-position <n>', 'first log position to deliver', positiveInteger('--from-position'))
    .option(
      '--from-time <time>',
      'start at the first event appended at or after this time',
      time('--from-time'),
    )
    .option('--to-position <n>', 'last log position to deliver', positiveInteger('--to-position'))
    .option(
      '--to-time <time>',
      'stop after the last event appended at or before this time',
      time('--to-time'),
    )
    .option(
      '--keys <keys>',
      'only these partition keys, comma-separated (e.g. customer/c1,customer/c2)',
      (v) =>
        v
          .split(',')
          .map((k) => k.trim())
          .filter(Boolean),
    )
    .requiredOption('--reason <text>', 'why (recorded in the audit log)')
    .option('--actor <name>', 'who (default: the current user)')
    .option('--no-wait', 'return once the request is recorded instead of following its progress')
    .option(
      '--timeout <seconds>',
      'stop following after this long (the replay goes on)',
      positiveInteger('--timeout'),
      3600,
    )
    .option('--json', 'print JSON')
    .action(async (opts: ReplayOptions) => {
      resolveBounds(opts);
      if (opts.fromPosition !== undefined && opts.fromTime !== undefined) {
        throw new TidemarkError('TM_INVALID_ARGUMENT', 'give --from-position or --from-time, not both');
      }
      if (
        opts.fromPosition !== undefined &&
        opts.toPosition !== undefined &&
        opts.toPosition < opts.fromPosition
      ) {
        throw new TidemarkError(
          'TM_INVALID_ARGUMENT',
          `--to-position ${opts.toPosition} is before --from-position ${opts.fromPosition}; swap them`,
        );
      }
      await submitAndFollow(opts, 'replay', {
        fromPosition: opts.fromPosition,
        toPosition: opts.toPosition,
        fromTime: opts.fromTime?.toISOString(),
        toTime: opts.toTime?.toISOString(),
        keys: opts.keys,
      });
    });
}

export function registerRebuild(program: Command): void {
  program
    .command('rebuild')
    .description("rebuild a consumer's projection from history into shadow tables, then swap them in")
    .requiredOption('--consumer <name>', 'the consumer whose projection to rebuild')
    .option('--db <address>', "the consumer's database: postgres://… or pglite:<dir> (default: $TIDEMARK_DB)")
    .option('--schema <name>', 'Tidemark schema (default: $TIDEMARK_SCHEMA or tidemark)')
    .requiredOption('--reason <text>', 'why (recorded in the audit log)')
    .option('--actor <name>', 'who (default: the current user)')
    .option('--no-wait', 'return once the request is recorded instead of following its progress')
    .option(
      '--timeout <seconds>',
      'stop following after this long (the rebuild goes on)',
      positiveInteger('--timeout'),
      3600,
    )
    .option('--json', 'print JSON')
    .action(
      async (opts: {
        consumer: string;
        db?: string;
        schema?: string;
        reason: string;
        actor?: string;
        wait: boolean;
        timeout: number;
        json?: boolean;
      }) => {
        await submitAndFollow(opts, 'rebuild', {});
      },
    );
}
