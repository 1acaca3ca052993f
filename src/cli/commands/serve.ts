import type { Command } from 'commander';
import { TidemarkError } from '../../errors.js';
import { createServer, hashToken, parseTokenSpec, type ConsumerStore } from '../../server/index.js';
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
      const { db, schema } = await connect(opts);
      const server = await createServer({
        db,
        schema,
        topology,
        tokens,
        bodyLimit: opts.bodyLimit,
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
