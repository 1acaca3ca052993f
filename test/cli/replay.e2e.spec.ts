import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { postgresAvailable, postgresUrl, serverDb, type TestDb } from '../support/services.js';
import { waitUntil } from '../support/wait.js';
import { createPostgresLog } from '../../src/backbone/index.js';
import { createConsumer, type Consumer } from '../../src/consumer/index.js';
import { createEnvelope } from '../../src/envelope/index.js';

const run = promisify(execFile);
const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const available = await postgresAvailable();

describe.runIf(available)('tidemark replay (server PostgreSQL, a running consumer does the work)', () => {
  let t: TestDb;
  let consumer: Consumer;
  let ledger: Consumer;
  let applied = 0;

  const tidemark = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await run(
        process.execPath,
        ['--import', 'tsx', main, ...args, '--db', postgresUrl, '--schema', t.schema],
        { timeout: 60_000 },
      );
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  beforeAll(async () => {
    t = await serverDb();
    const backbone = await createPostgresLog({
      db: t.db,
      schema: t.schema,
      partitions: 2,
      timing: { pollMs: 20 },
    });
    consumer = createConsumer({
      name: 'billing',
      db: t.db,
      backbone,
      schema: t.schema,
      repairIntervalMs: 100,
      onOutcome: (o) => {
        if (o.kind === 'applied') applied++;
      },
      handlers: { customer: { async apply() {} } },
    });
    await backbone.publish(
      Array.from({ length: 30 }, (_, i) =>
        createEnvelope({
          kind: 'state',
          authority: 'profile',
          entityType: 'customer',
          entityId: `c${i % 5}`,
          entityVersion: Math.floor(i / 5) + 1,
          data: {},
        }),
      ),
    );
    await consumer.start();
    await waitUntil(async () => applied, 30, 20_000, 'the consumer to apply the history');
    await t.db.query(`CREATE TABLE "${t.schema}".names (id text PRIMARY KEY, version int NOT NULL)`);
    ledger = createConsumer({
      name: 'ledger',
      db: t.db,
      backbone,
      schema: t.schema,
      repairIntervalMs: 100,
      projection: { tables: ['names'] },
      handlers: {
        customer: {
          async apply(tx, e, context) {
            await tx.query(
              `INSERT INTO ${context.table('names')} VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET version = $2`,
              [e.entityid, e.entityversion],
            );
          },
        },
      },
    });
    await ledger.start();
  });
  afterAll(async () => {
    await ledger.stop();
    await consumer.stop();
    await t.cleanup();
  });

  it('replays a range into the consumer and reports that it already had every event', async () => {
    const result = await tidemark(
      'replay',
      '--consumer',
      'billing',
      '--from-position',
      '1',
      '--reason',
      'audit check',
      '--json',
    );
    expect(result.code).toBe(0);
    const request = JSON.parse(result.stdout) as { status: string; result: Record<string, number> };
    expect(request.status).toBe('done');
    expect(request.result).toMatchObject({ delivered: 30, duplicate: 30, applied: 0 });
    const human = await tidemark(
      'replay',
      '--consumer',
      'billing',
      '--keys',
      'customer/c1',
      '--reason',
      'one key',
    );
    expect(human.stdout).toMatch(/delivered 6 of 6 events: 0 applied, 6 already there/);
    const audit = await t.db.query(`SELECT action, target FROM "${t.schema}".operator_audit ORDER BY id`);
    expect(audit.rows).toEqual([
      { action: 'operation.replay', target: 'consumer:billing' },
      { action: 'operation.replay', target: 'consumer:billing' },
    ]);
  });

  it('reports a range beyond the log as a failed request with the reason, applying nothing', async () => {
    const result = await tidemark(
      'replay',
      '--consumer',
      'billing',
      '--from-position',
      '999',
      '--reason',
      'typo',
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /failed: the range starts at position 999, beyond the end of the log \(position 30\)/,
    );
  });

  it('takes --from and --to as a position or a time, as the operator has it at hand', async () => {
    const byPosition = await tidemark(
      'replay',
      '--consumer',
      'billing',
      '--from',
      '25',
      '--to',
      '27',
      '--reason',
      'three events',
      '--json',
    );
    expect(byPosition.code).toBe(0);
    expect(JSON.parse(byPosition.stdout)).toMatchObject({ status: 'done', result: { delivered: 3 } });
    const byTime = await tidemark(
      'replay',
      '--consumer',
      'billing',
      '--from',
      '2000-01-01T00:00:00Z',
      '--reason',
      'everything',
      '--json',
    );
    expect(byTime.code).toBe(0);
    expect(JSON.parse(byTime.stdout)).toMatchObject({ status: 'done', result: { delivered: 30 } });
    const neither = await tidemark(
      'replay',
      '--consumer',
      'billing',
      '--from',
      'last tuesday',
      '--reason',
      'x y z',
    );
    expect(neither.stderr).toMatch(
      /--from needs a log position \(a whole number, e.g. 1200\) or a time such as 2026-11-26T09:00:00Z \(got "last tuesday"\)/,
    );
    const twice = await tidemark(
      'replay',
      '--consumer',
      'billing',
      '--from',
      '3',
      '--from-position',
      '4',
      '--reason',
      'x y z',
    );
    expect(twice.stderr).toMatch(/give --from or --from-position\/--from-time, not both/);
  });

  it('names malformed options and the fix', async () => {
    const badTime = await tidemark(
      'replay',
      '--consumer',
      'billing',
      '--from-time',
      'yesterday',
      '--reason',
      'x y z',
    );
    expect(badTime.stderr).toMatch(
      /--from-time needs a date and time such as 2026-11-26T09:00:00Z \(got "yesterday"\)/,
    );
    const noReason = await tidemark('replay', '--consumer', 'billing');
    expect(noReason.stderr).toMatch(/required option '--reason <text>' not specified/);
    const reversed = await tidemark(
      'replay',
      '--consumer',
      'billing',
      '--from-position',
      '9',
      '--to-position',
      '3',
      '--reason',
      'x y z',
    );
    expect(reversed.stderr).toMatch(/--to-position 3 is before --from-position 9/);
  });

  it('rebuilds a projection through a running consumer and reports the swap', async () => {
    await t.db.query(`DELETE FROM "${t.schema}".names WHERE id = 'c2'`);
    const result = await tidemark('rebuild', '--consumer', 'ledger', '--reason', 'lost a row');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /Rebuild #\d+ of ledger replayed 30 events \(\d+ took effect\) into fresh copies of names and swapped them in at position 30/,
    );
    const names = await t.db.query(`SELECT id, version FROM "${t.schema}".names ORDER BY id`);
    expect(names.rows).toEqual(['c0', 'c1', 'c2', 'c3', 'c4'].map((id) => ({ id, version: 6 })));
  });

  it('fails a rebuild of a consumer that declares no projection tables, saying what to declare', async () => {
    const result = await tidemark('rebuild', '--consumer', 'billing', '--reason', 'try it');
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/Rebuild #\d+ failed: consumer 'billing' declares no projection.tables/);
  });
});
