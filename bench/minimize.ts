/**
 * What minimized channels cost the relay, on server PostgreSQL:
 * `node --import tsx bench/minimize.ts [events]` (default 20,000).
 *
 * The same outbox (customer events of ~0.6 KiB, with PII) is relayed three ways, in turn, twice
 * each: to a postgres-log alone with the relay's in-database copy; to a postgres-log alone
 * through `publish` (envelopes pass through the process, as audience copies must); and through
 * the audience router to the shared log plus billing's and claims' minimized logs (one schema
 * each, one transaction per batch). Reports events/s and
 * the bytes each log table takes, so the storage cost of one copy per audience is visible.
 */
import { randomUUID } from 'node:crypto';
import { createPostgresLog } from '../src/backbone/index.js';
import { createProducer, registerAuthority } from '../src/producer/index.js';
import { createAudienceBackbone } from '../src/relay/audiences.js';
import { createRelay } from '../src/relay/index.js';
import { createSchemaCompiler } from '../src/schema/compile.js';
import { piiKeyword } from '../src/schema/pii.js';
import { createSchemaSet } from '../src/schema/schema-set.js';
import type { Db } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';
import { openPostgres } from '../src/store/pg/index.js';
import { parseTopology } from '../src/topology/index.js';

const url = process.env.TIDEMARK_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const events = Number(process.argv[2] ?? 20_000);
const pii = { [piiKeyword]: true };
const schemas = createSchemaSet(
  [
    {
      type: 'customer.state',
      version: 1,
      schema: {
        type: 'object',
        properties: {
          customerId: { type: 'string' },
          name: { type: 'string', ...pii },
          email: { type: 'string', ...pii },
          segment: { type: 'string' },
          address: {
            type: 'object',
            properties: { city: { type: 'string' }, street: { type: 'string', ...pii } },
          },
          notes: { type: 'string' },
        },
      },
    },
  ],
  { compiler: createSchemaCompiler({ keywords: [piiKeyword] }) },
);
const parsed = parseTopology(
  `
contexts: [{ name: profile }, { name: billing }, { name: claims }, { name: audit }]
entityTypes: [{ name: customer, authority: profile }]
flows:
  - { name: to-billing, entityType: customer, source: profile, consumer: billing, strategy: push-state, fields: [customerId, email, address.city], pii: [email] }
  - { name: to-claims, entityType: customer, source: profile, consumer: claims, strategy: push-state, fields: [customerId, segment, address] }
  - { name: to-audit, entityType: customer, source: profile, consumer: audit, strategy: push-state }
`,
  'bench.yaml',
  { schemas },
);
if (!parsed.valid) throw new Error(JSON.stringify(parsed.errors));
const topology = parsed.topology;

async function logBytes(db: Db, schema: string): Promise<number> {
  const row = (
    await db.query<{ bytes: string }>(`SELECT pg_total_relation_size($1::regclass)::bigint AS bytes`, [
      `"${schema}".log`,
    ])
  ).rows[0]!;
  return Number(row.bytes);
}

type Mode = 'in-database copy' | 'publish path' | 'shared + 2 audiences';

async function run(db: Db, mode: Mode) {
  const withAudiences = mode === 'shared + 2 audiences';
  const id = randomUUID().replaceAll('-', '').slice(0, 8);
  const schema = `bm_${id}`;
  const audiences = { billing: `bm_${id}_billing`, claims: `bm_${id}_claims` };
  for (const s of [schema, ...Object.values(audiences)]) await migrate(db, s);
  await registerAuthority(db, { entityType: 'customer', context: 'profile' }, schema);
  const producer = createProducer({ context: 'profile', schema });
  for (let i = 0; i < events; i += 500) {
    await db.transaction(async (tx) => {
      for (let j = i; j < Math.min(events, i + 500); j++) {
        await producer.append(
          tx,
          { type: 'customer', id: `c${j}` },
          {
            kind: 'state',
            data: {
              customerId: `c${j}`,
              name: `Customer Number ${j}`,
              email: `customer.${j}@example.com`,
              segment: j % 2 ? 'retail' : 'business',
              address: { city: 'Leeds', street: `${j} Long Street Name, Flat ${j % 90}` },
              notes: 'x'.repeat(300),
            },
          },
          { schemaVersion: 1 },
        );
      }
    });
  }
  const shared = await createPostgresLog({ db, schema });
  const backbone = withAudiences
    ? createAudienceBackbone({
        shared,
        audiences: {
          billing: await createPostgresLog({ db, schema: audiences.billing }),
          claims: await createPostgresLog({ db, schema: audiences.claims }),
        },
        topology,
        schemas,
      })
    : mode === 'publish path'
      ? { ...shared, publishFromOutbox: undefined }
      : shared;
  const relay = createRelay({ db, backbone, schema });
  const started = process.hrtime.bigint();
  let moved = 0;
  while (moved < events) moved += await relay.drain();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const bytes = {
    shared: await logBytes(db, schema),
    ...(withAudiences
      ? { billing: await logBytes(db, audiences.billing), claims: await logBytes(db, audiences.claims) }
      : {}),
  };
  for (const s of [schema, ...Object.values(audiences)]) await db.query(`DROP SCHEMA "${s}" CASCADE`);
  return { eventsPerSecond: Math.round(events / seconds), seconds, bytes };
}

const db = await openPostgres({ connectionString: url, max: 4 });
try {
  const modes: Mode[] = ['in-database copy', 'publish path', 'shared + 2 audiences'];
  for (const mode of [...modes, ...modes]) {
    const result = await run(db, mode);
    const kib = Object.entries(result.bytes)
      .map(([name, bytes]) => `${name} ${(bytes / 1024 / 1024).toFixed(1)} MiB`)
      .join(', ');
    console.log(
      `${mode.padEnd(20)}: ${events} events in ` +
        `${result.seconds.toFixed(2)} s = ${result.eventsPerSecond} events/s; ${kib}`,
    );
  }
} finally {
  await db.close();
}
