import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { TidemarkError, isTidemarkError } from '../../errors.js';
import { createLedger, type EntityStatus } from '../../ledger/index.js';
import { sayProgress, sayTime } from '../../ledger/explain.js';
import { loadTopology } from '../../topology/index.js';
import type { Topology } from '../../topology/model.js';
import { connect } from '../connect.js';
import { diagnoseHorizon } from '../../relay/horizon.js';
import { quoteIdentifier } from '../../store/identifier.js';
import { storedConsumerStalls } from '../../server/consumer-progress.js';
import { positiveInteger } from '../options.js';

interface Options {
  db?: string;
  schema?: string;
  topology?: string;
  json?: boolean;
  stallAfter?: number;
}

function entityRef(text: string): { type: string; id: string } {
  const slash = text.indexOf('/');
  if (slash <= 0 || slash === text.length - 1) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `"${text}" is not an entity: write <type>/<id>, e.g. tidemark status customer/c-42`,
    );
  }
  return { type: text.slice(0, slash), id: text.slice(slash + 1) };
}

/** The human answer: the summary first, then each version and each decision. */
export function formatStatus(status: EntityStatus, now = new Date()): string {
  const lines = [status.summary, ''];
  for (const v of [...status.versions].reverse()) {
    lines.push(
      `v${v.version} ${v.eventTypes.join(', ')} — accepted ${sayTime(v.acceptedAt, now)}` +
        (v.publishedAt ? `, published ${sayTime(v.publishedAt, now)}` : ', not published yet') +
        (v.settled ? ', settled' : ''),
    );
    for (const c of v.contexts) lines.push(`  ${sayProgress(c, now)}`);
  }
  if (status.decisions.length > 0) {
    lines.push('', 'Decisions:');
    for (const d of status.decisions)
      lines.push(`  ${d.ready ? 'ready    ' : 'not ready'}  ${d.explanation}`);
  }
  return lines.join('\n');
}

async function topologyFrom(path: string | undefined): Promise<Topology | undefined> {
  if (path) return loadTopology(path);
  return existsSync('tidemark.yaml') ? loadTopology('tidemark.yaml') : undefined;
}

export function registerStatus(program: Command): void {
  program
    .command('status <entity>')
    .description(
      'how far a change has travelled: each version in each context, and which decisions may use it',
    )
    .option(
      '--db <address>',
      "the authority's database: postgres://… or pglite:<dir> (default: $TIDEMARK_DB)",
    )
    .option('--schema <name>', 'Tidemark schema (default: $TIDEMARK_SCHEMA or tidemark)')
    .option(
      '--topology <file>',
      'topology file for contexts and decisions (default: ./tidemark.yaml if present)',
    )
    .option(
      '--stall-after <seconds>',
      'a consumer with work waiting that applied nothing for this long is reported stalled (default 60)',
      positiveInteger('--stall-after'),
    )
    .option('--json', 'print JSON')
    .action(async (raw: string, options: Options) => {
      const entity = entityRef(raw);
      const topology = await topologyFrom(options.topology);
      const { db, schema } = await connect(options);
      try {
        const status = await createLedger({ db, schema, ...(topology ? { topology } : {}) }).status(
          entity.type,
          entity.id,
        );
        // Why nothing moves, when an old open transaction holds the relay back (only then shown).
        const horizon = await diagnoseHorizon(db, quoteIdentifier(schema, 'schema name'));
        const held = horizon.held ? { relayHorizon: horizon } : {};
        // Consumers of this entity type with work waiting and nothing applied (only then shown).
        const stalled = await storedConsumerStalls({
          db,
          schema,
          ...(topology
            ? {
                consumers: [
                  ...new Set(
                    topology.flows.filter((f) => f.entityType === entity.type).map((f) => f.consumer),
                  ),
                ],
              }
            : {}),
          stallAfterMs: (options.stallAfter ?? 60) * 1000,
        });
        const stalls = stalled.length > 0 ? { stalledConsumers: stalled } : {};
        process.stdout.write(
          options.json
            ? `${JSON.stringify({ ...status, ...held, ...stalls })}\n`
            : `${formatStatus(status)}\n${horizon.held ? `\nRelay held back: ${horizon.explanation}\n` : ''}` +
                stalled
                  .map(
                    (c) =>
                      `\nConsumer stalled: ${c.explanation}\n` +
                      c.reasons
                        .slice(1)
                        .map((r) => `  also: ${r.detail}\n`)
                        .join(''),
                  )
                  .join(''),
        );
      } catch (error) {
        if (!isTidemarkError(error, 'TM_ENTITY_NOT_FOUND')) throw error;
        // An unknown entity is an answer, not a usage error: exit 1 with the types known here.
        if (options.json)
          process.stdout.write(
            `${JSON.stringify({ error: { code: error.code, message: error.message } })}\n`,
          );
        else process.stderr.write(`tidemark: ${error.message}\n`);
        process.exitCode = 1;
      } finally {
        await db.close();
      }
    });
}
