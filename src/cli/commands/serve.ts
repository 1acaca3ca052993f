import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { TidemarkError } from '../../errors.js';
import {
  createServer,
  hashToken,
  parseTokenSpec,
  type ConsumerStore,
  type FieldAllowLists,
} from '../../server/index.js';
import { loadTopology } from '../../topology/index.js';
import { connect } from '../connect.js';
import { positiveInteger } from '../options.js';

interface ServeOptions {
  db?: string;
  schema?: string;
  topology?: string;
  token: string[];
  consumer: string[];
  host: string;
  port: number;
  bodyLimit: number;
  hashToken?: string;
  fields?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** `billing` (in --schema) or `billing=billing_schema`. */
function consumerStore(spec: string): ConsumerStore {
  const [name = '', schema, ...rest] = spec.split('=');
  if (!name || rest.length > 0 || schema === '') {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `--consumer ${JSON.stringify(spec)} is not name or name=schema (e.g. --consumer billing=billing_tidemark)`,
    );
  }
  return schema === undefined ? { name } : { name, schema };
}

/** Reads and checks the viewers' field allow-lists: consumer → entity type → field names. */
async function readFields(file: string): Promise<FieldAllowLists> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `--fields ${file} is not a readable JSON file: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const isRecord = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isRecord(parsed)) {
    throw new TidemarkError('TM_INVALID_ARGUMENT', `--fields ${file} must hold an object of consumers`);
  }
  for (const [consumer, types] of Object.entries(parsed)) {
    if (!isRecord(types)) {
      throw new TidemarkError(
        'TM_INVALID_ARGUMENT',
        `--fields ${file}: ${consumer} must map entity types to field lists`,
      );
    }
    for (const [type, list] of Object.entries(types)) {
      if (!Array.isArray(list) || !list.every((f) => typeof f === 'string')) {
        throw new TidemarkError(
          'TM_INVALID_ARGUMENT',
          `--fields ${file}: ${consumer}.${type} must be a list of field names, e.g. ["address"]`,
        );
      }
    }
  }
  return parsed as FieldAllowLists;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the control plane: HTTP API, /metrics, /openapi.json and the dashboard')
    .option('--db <url>', 'database: postgres://… or pglite:<dir> (default: $TIDEMARK_DB)')
    .option('--schema <name>', "the authority's Tidemark schema (default: $TIDEMARK_SCHEMA or tidemark)")
    .option('--topology <file>', 'topology file giving flows, consumers and decisions', 'tidemark.yaml')
    .option(
      '--token <name:role:sha256>',
      'a bearer token, hashed (repeatable; also $TIDEMARK_TOKENS, comma-separated)',
      collect,
      [],
    )
    .option(
      '--consumer <name[=schema]>',
      "a consumer whose dead letters to serve (repeatable; default: the topology's consumers in --schema)",
      collect,
      [],
    )
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port to listen on', positiveInteger('--port'), 7070)
    .option('--body-limit <bytes>', 'largest request body accepted', positiveInteger('--body-limit'), 1048576)
    .option(
      '--fields <file>',
      'JSON file of the payload fields viewers may see: { "<consumer>": { "<entity type>": ["field", …] } }',
    )
    .option('--hash-token <token>', 'print the SHA-256 of a token for --token, and exit')
    .option('--json', 'print the listening address as JSON')
    .action(async (opts: ServeOptions) => {
      if (opts.hashToken !== undefined) {
        process.stdout.write(`${hashToken(opts.hashToken)}\n`);
        return;
      }
      const specs = [
        ...opts.token,
        ...(process.env.TIDEMARK_TOKENS ?? '').split(',').filter((s) => s.trim() !== ''),
      ];
      const tokens = specs.map(parseTokenSpec);
      const topology = await loadTopology(opts.topology ?? 'tidemark.yaml');
      const fields = opts.fields === undefined ? undefined : await readFields(opts.fields);
      const { db, schema } = await connect(opts);
      const server = await createServer({
        db,
        schema,
        topology,
        tokens,
        bodyLimit: opts.bodyLimit,
        ...(fields ? { fields } : {}),
        ...(opts.consumer.length > 0 ? { consumers: opts.consumer.map(consumerStore) } : {}),
      });
      const url = await server.listen({ host: opts.host, port: opts.port });
      process.stdout.write(
        opts.json
          ? `${JSON.stringify({ url, dashboard: `${url}/`, openapi: `${url}/openapi.json` })}\n`
          : `Tidemark control plane on ${url}/ (API ${url}/api, OpenAPI ${url}/openapi.json). Ctrl-C stops it.\n`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await server.close();
      await db.close();
    });
}
