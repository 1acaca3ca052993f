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

interface Letter {
  id: number;
  status: string;
  entityId: string;
  attempts: number;
  reason: string;
  stack: string | null;
  envelope: { data: unknown };
  originalEnvelope: { data: unknown } | null;
}

/** `tidemark dlq show|retry|edit --json`: the operator actions that dlq.e2e.spec.ts does not drive. */
describe.runIf(available)('tidemark dlq show, retry and edit as JSON (server PostgreSQL)', () => {
  let t: TestDb;
  const heads = new Map<string, number>();
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
  const audit = async () =>
    (
      await t.db.query<{ actor: string; action: string; target: string; reason: string; at: Date }>(
        `SELECT actor, action, target, reason, at FROM "${t.schema}".operator_audit ORDER BY id`,
      )
    ).rows;

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
    for (const entityId of ['c1', 'c2']) {
      await consumer.handle(
        createEnvelope({
          kind: 'state',
          authority: 'profile',
          entityType: 'customer',
          entityId,
          entityVersion: 1,
          data: { postcode: 'XX' },
        }),
      );
    }
    const rows = await t.db.query<{ id: number; entity_id: string }>(
      `SELECT id, entity_id FROM "${t.schema}".dead_letters`,
    );
    for (const r of rows.rows) heads.set(r.entity_id, Number(r.id));
  });
  afterAll(() => t.cleanup());

  it('show --json prints the dead letter with its reason, stack, attempts and the envelope as received', async () => {
    const shown = await tidemark('show', String(heads.get('c1')), '--json');
    expect(shown.code).toBe(0);
    const letter = JSON.parse(shown.stdout) as Letter;
    expect(letter).toMatchObject({ id: heads.get('c1'), status: 'open', entityId: 'c1', attempts: 1 });
    expect(letter.reason).toMatch(/postcode "XX" is not a postcode/);
    expect(letter.stack).toMatch(/TidemarkError/);
    expect(letter.envelope.data).toEqual({ postcode: 'XX' });
    expect(await audit()).toEqual([]);
  });

  it('edit --json replaces the data, keeps the original, releases it, and records who, when and why', async () => {
    const edited = await tidemark(
      'edit',
      String(heads.get('c1')),
      '--data',
      '{"postcode":"EH6 6QQ"}',
      '--reason',
      'postcode confirmed by phone',
      '--actor',
      'jane',
      '--json',
    );
    expect(edited.code).toBe(0);
    const letter = JSON.parse(edited.stdout) as Letter;
    expect(letter.status).toBe('retry');
    expect(letter.envelope.data).toEqual({ postcode: 'EH6 6QQ' });
    expect(letter.originalEnvelope!.data).toEqual({ postcode: 'XX' });
    const [entry] = await audit();
    expect(entry).toMatchObject({
      actor: 'jane',
      action: 'dlq.edit',
      target: `dead-letter:${heads.get('c1')}`,
      reason: 'postcode confirmed by phone',
    });
    expect(entry!.at).toBeInstanceOf(Date);
  });

  it('retry --json releases the head for the consumer and records the action', async () => {
    const retried = await tidemark(
      'retry',
      String(heads.get('c2')),
      '--reason',
      'tariff table fixed',
      '--actor',
      'sam',
      '--json',
    );
    expect(retried.code).toBe(0);
    expect(JSON.parse(retried.stdout)).toMatchObject({ id: heads.get('c2'), status: 'retry' });
    expect((await audit()).map((a) => [a.actor, a.action, a.target])).toEqual([
      ['jane', 'dlq.edit', `dead-letter:${heads.get('c1')}`],
      ['sam', 'dlq.retry', `dead-letter:${heads.get('c2')}`],
    ]);
  });
});
