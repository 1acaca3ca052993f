import { randomBytes } from 'node:crypto';
import { demoSchemas, type RunningEstate } from '../demo/run.js';
import { TidemarkError } from '../errors.js';
import type { Db } from '../store/db.js';
import { parseTopology, starterTopology } from '../topology/index.js';
import { hashToken } from './auth.js';
import type { RelayView } from './progress.js';
import { createServer } from './server.js';
import type { ConsumerStore } from './stores.js';

export interface DemoServeOptions {
  /** The demo's database, still open, with its demo_* schemas. */
  readonly db: Db;
  /** `--serve [port]`: true for the default port 7070, or the port given (0: any free port). */
  readonly port: string | true;
  readonly json?: boolean;
  readonly write?: (line: string) => void;
  /**
   * The demo's running relays and consumers: the dashboard then shows each relay's read horizon
   * and each consumer's progress and stalls as they report them, not only what the database keeps.
   */
  readonly estate?: RunningEstate;
}

/**
 * Serves the control plane and dashboard over a finished demo's database until SIGINT/SIGTERM,
 * with two fresh tokens printed once (they exist only in this process's memory).
 */
export async function serveDemo(options: DemoServeOptions): Promise<void> {
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  const operator = randomBytes(18).toString('base64url');
  const viewer = randomBytes(18).toString('base64url');
  const port = options.port === true ? 7070 : Number(options.port);
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `--serve needs a port from 0 to 65535 (0: any free port), got "${String(options.port)}"`,
    );
  }
  // Consumer contexts whose demo schema lives in this database (one may have a database of its own).
  const consumers: ConsumerStore[] = [];
  for (const [key, schema] of Object.entries(demoSchemas)) {
    if (schema === demoSchemas.profile) continue;
    const found = await options.db.query<{ table: string | null }>(`SELECT to_regclass($1)::text AS table`, [
      `"${schema}".dead_letters`,
    ]);
    if (found.rows[0]?.table) consumers.push({ name: key === 'comms' ? 'communications' : key, schema });
  }
  const estate = options.estate;
  // Communications keeps its dead letters in a database of its own when embedded.
  if (estate && !consumers.some((c) => c.name === 'communications')) {
    const { db, schema } = estate.communicationsRelay;
    consumers.push({ name: 'communications', db, schema });
  }
  const relays: RelayView[] | undefined = estate && [
    estate.relay,
    // Both relays keep the default cursor name, each in its own schema: tell them apart.
    {
      name: 'communications-stages',
      status: async () => ({
        ...(await estate.communicationsRelay.relay.status()),
        name: 'communications-stages',
      }),
    },
  ];
  const parsed = parseTopology(starterTopology);
  const server = await createServer({
    db: options.db,
    schema: demoSchemas.profile,
    ...(parsed.valid ? { topology: parsed.topology } : {}),
    tokens: [
      { name: 'demo-operator', role: 'operator', sha256: hashToken(operator) },
      { name: 'demo-viewer', role: 'viewer', sha256: hashToken(viewer) },
    ],
    consumers,
    ...(relays ? { relays } : {}),
    ...(estate ? { runningConsumers: estate.consumers } : {}),
  });
  const url = await server.listen({ host: '127.0.0.1', port });
  write(
    options.json
      ? `${JSON.stringify({ dashboard: `${url}/`, operatorToken: operator, viewerToken: viewer })}\n`
      : `\nDashboard: ${url}/\n  operator token: ${operator}\n  viewer token:   ${viewer}\n` +
          'The estate keeps running: relays and consumers carry out what an operator releases. Ctrl-C stops it.\n',
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await server.close();
}
