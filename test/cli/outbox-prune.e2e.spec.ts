import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresAvailable, postgresUrl, serverDb, type TestDb } from '../support/services.js';
import { tidemark } from '../support/cli.js';
import { waitUntil } from '../support/wait.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { createRelay } from '../../src/relay/index.js';
import { createPostgresLog } from '../../src/backbone/index.js';

describe.runIf(await postgresAvailable())('tidemark outbox prune (server PostgreSQL)', () => {
  let t: TestDb;
  const prune = (...args: string[]) =>
    tidemark(['outbox', 'prune', '--db', postgresUrl, '--schema', t.schema, ...args]);

  beforeAll(async () => {
    t = await serverDb();
    await registerAuthority(t.db, { entityType: 'customer', context: 'profile' }, t.schema);
    const producer = createProducer({ context: 'profile', schema: t.schema });
    for (let i = 0; i < 3; i++) {
      await t.db.transaction((tx) =>
        producer.append(tx, { type: 'customer', id: 'c1' }, { kind: 'state', data: { i } }),
      );
    }
    const relay = createRelay({
      db: t.db,
      backbone: await createPostgresLog({ db: t.db, schema: t.schema, partitions: 2 }),
      schema: t.schema,
    });
    await waitUntil(
      async () => {
        await relay.drain();
        return (await relay.status()).backlog;
      },
      0,
      20_000,
      'the relay to pass every row',
    );
  });
  afterAll(() => t.cleanup());

  it('counts in a dry run, then deletes the superseded relayed rows and says which relay bounds it', async () => {
    const dry = await prune('--older-than', '0m', '--dry-run', '--json');
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toEqual({
      pruned: 2,
      slowestRelay: { name: 'default', relayed: 3 },
      dryRun: true,
    });
    const kept = await prune(); // default: only events older than 7 days
    expect(kept.stdout).toMatch(
      /Outbox prune deleted 0 rows; relay 'default' is furthest behind \(3 events relayed\)/,
    );
    const done = await prune('--older-than', '0m');
    expect(done.stdout).toMatch(/deleted 2 rows/);
    const left = await t.db.query<{ v: number }>(`SELECT entity_version AS v FROM "${t.schema}".outbox`);
    expect(left.rows.map((r) => Number(r.v))).toEqual([3]);
  });

  it('names a malformed age and the fix', async () => {
    const bad = await prune('--older-than', 'a week');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(
      /--older-than needs a number and a unit, m \(minutes\), h \(hours\) or d \(days\), e\.g\. 7d \(got "a week"\)/,
    );
  });
});
