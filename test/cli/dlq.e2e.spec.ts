import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { postgresAvailable, postgresUrl, serverDb, type TestDb } from '../support/services.js';
import { createConsumer } from '../../src/consumer/index.js';
import { createEnvelope } from '../../src/envelope/index.js';
import { TidemarkError } from '../../src/errors.js';
import type { Backbone } from '../../src/backbone/index.js';

const run = promisify(execFile);
const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const available = await postgresAvailable();

describe.runIf(available)('tidemark dlq (server PostgreSQL)', () => {
  let t: TestDb;
  const tidemark = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await run(
        process.execPath,
        ['--import', 'tsx', main, 'dlq', '--db', postgresUrl, '--schema', t.schema, ...args],
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
    const consumer = createConsumer({
      name: 'billing',
      db: t.db,
      backbone: {} as Backbone,
      schema: t.schema,
      handlers: {
        customer: {
          async apply() {
            throw new TidemarkError('TM_INVALID_ARGUMENT', 'postcode "XX" is not a postcode', {
              retryable: false,
            });
          },
        },
      },
    });
    for (const version of [1, 2]) {
      await consumer.handle(
        createEnvelope({
          kind: 'state',
          authority: 'profile',
          entityType: 'customer',
          entityId: 'c9',
          entityVersion: version,
          data: { postcode: 'XX' },
        }),
      );
    }
  });
  afterAll(() => t.cleanup());

  it('lists the head and the event parked behind it, as JSON and as text', async () => {
    const json = await tidemark('list', '--json');
    expect(json.code).toBe(0);
    const rows = JSON.parse(json.stdout) as { id: number; status: string; entityVersion: number }[];
    expect(rows.map((r) => [r.status, r.entityVersion])).toEqual([
      ['open', 1],
      ['parked', 2],
    ]);
    const text = await tidemark('list');
    expect(text.stdout).toMatch(
      /#\d+ {2}open {2}billing {2}customer\/c9@1 {2}1x {2}TM_INVALID_ARGUMENT {2}\(1 parked behind\)/,
    );
  });

  it('refuses skip without a reason and an unknown id, naming the fix, changing nothing', async () => {
    const noReason = await tidemark('skip', '1');
    expect(noReason.code).not.toBe(0);
    expect(noReason.stderr).toMatch(/required option '--reason <text>' not specified/);
    const unknown = await tidemark('show', '424242');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/there is no dead letter #424242 .* run "tidemark dlq list"/);
    expect(unknown.stderr).not.toMatch(/\n\s+at /);
    const badEdit = await tidemark('edit', '1', '--data', '{oops', '--reason', 'fix data');
    expect(badEdit.stderr).toMatch(/the new payload is not valid JSON/);
    const rows = JSON.parse((await tidemark('list', '--json')).stdout) as { status: string }[];
    expect(rows.map((r) => r.status)).toEqual(['open', 'parked']);
  });

  it('skips the head with a reason and records who and why', async () => {
    const [head] = JSON.parse((await tidemark('list', '--json')).stdout) as { id: number }[];
    const skipped = await tidemark(
      'skip',
      String(head!.id),
      '--reason',
      'postcode confirmed by phone',
      '--actor',
      'sam',
      '--json',
    );
    expect(skipped.code).toBe(0);
    expect(JSON.parse(skipped.stdout)).toMatchObject({ id: head!.id, status: 'skipped' });
    const audit = await t.db.query(`SELECT actor, action, reason FROM "${t.schema}".operator_audit`);
    expect(audit.rows).toEqual([{ actor: 'sam', action: 'dlq.skip', reason: 'postcode confirmed by phone' }]);
  });
});
