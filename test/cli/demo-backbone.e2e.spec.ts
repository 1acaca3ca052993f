import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { tidemark } from '../support/cli.js';
import { postgresAvailable, postgresUrl } from '../support/services.js';
import { natsAvailable, natsServers } from '../contract/backbone/nats-service.js';
import { rabbitAvailable, rabbitUrl } from '../contract/backbone/rabbitmq-service.js';
import { redisAvailable, redisUrl } from '../contract/backbone/redis-service.js';

/*
 * `tidemark demo --backbone <kind>` end to end, one run per backbone. The demo's schemas have
 * fixed names, so these runs use a database of their own (the --distributed suite uses the test
 * database at the same time) and follow each other within this file. The demo names its stream,
 * exchanges or key prefix after that database, so no other demo's broker data is touched.
 */

const database = 'tidemark_demo_backbones';
const demoUrl = (() => {
  const url = new URL(postgresUrl);
  url.pathname = `/${database}`;
  return url.toString();
})();

const postgres = await postgresAvailable();
const brokers = {
  'postgres-log': { available: postgres, url: undefined },
  'nats-jetstream': { available: postgres && (await natsAvailable()), url: natsServers },
  rabbitmq: { available: postgres && (await rabbitAvailable()), url: rabbitUrl },
  'redis-streams': { available: postgres && (await redisAvailable()), url: redisUrl },
} as const;

interface Report {
  mode: string;
  backbone: string;
  events: number;
  converged: boolean;
  contexts: Record<string, { applied: number; matching: number; total: number; converged: boolean }>;
  reconciliation: { repaired: number; foundAfterRepair: number };
}

describe('tidemark demo --backbone', () => {
  beforeAll(async () => {
    if (!postgres) return;
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    try {
      const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      // CREATE DATABASE cannot take a parameter; the name is the constant above.
      if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${database}`);
    } finally {
      await client.end();
    }
  });

  for (const [kind, broker] of Object.entries(brokers)) {
    it.runIf(broker.available)(
      `runs the distributed estate over ${kind} and converges`,
      async () => {
        const result = await tidemark(
          [
            'demo',
            '--backbone',
            kind,
            ...(broker.url === undefined ? [] : ['--backbone-url', broker.url]),
            '--postgres',
            demoUrl,
            '--json',
            '--customers',
            '4',
            '--changes',
            '12',
          ],
          { timeoutMs: 90_000 },
        );
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        const report = JSON.parse(result.stdout) as Report;
        // 16 changes of three events each (domain, state, notice), plus the narrated customer's two.
        expect(report).toMatchObject({ mode: 'distributed', backbone: kind, events: 54, converged: true });
        for (const context of ['billing', 'policy', 'claims', 'communications']) {
          expect(report.contexts[context]).toMatchObject({ matching: 5, total: 5, converged: true });
        }
        expect(report.reconciliation).toMatchObject({ repaired: 2, foundAfterRepair: 0 });
      },
      100_000,
    );
  }

  it('names the valid backbones, and the closest, for an unknown one', async () => {
    const result = await tidemark(['demo', '--backbone', 'redis-stream']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /unknown backbone 'redis-stream'; use one of postgres-log, nats-jetstream, rabbitmq, redis-streams — did you mean 'redis-streams'\?/,
    );
  });

  it('refuses a broker address for postgres-log, whose log lives in the database', async () => {
    const result = await tidemark(['demo', '--backbone', 'postgres-log', '--backbone-url', 'redis://x']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--backbone postgres-log .* takes no --backbone-url/);
  });

  it.runIf(postgres)('names the broker address and the fix when the broker is unreachable', async () => {
    const result = await tidemark(
      [
        'demo',
        '--backbone',
        'redis-streams',
        '--backbone-url',
        'redis://127.0.0.1:6399/0',
        '--postgres',
        demoUrl,
      ],
      { timeoutMs: 60_000 },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /Redis is unreachable at redis:\/\/127\.0\.0\.1:6399\/0 .*check that redis-server .* is running/,
    );
  });
});
