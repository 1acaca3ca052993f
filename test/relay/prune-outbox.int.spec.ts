import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { databaseKinds } from '../support/both-databases.js';
import type { TestDb } from '../support/services.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { createRelay, pruneOutbox } from '../../src/relay/index.js';
import { createPostgresLog } from '../../src/backbone/index.js';
import { createLedger } from '../../src/ledger/index.js';

describe.each(await databaseKinds())('outbox pruning on $name', (kind) => {
  let t: TestDb;
  beforeEach(async () => {
    t = await kind.open();
    await registerAuthority(t.db, { entityType: 'customer', context: 'profile' }, t.schema);
  });
  afterEach(() => t.cleanup());

  const rows = async () =>
    (
      await t.db.query<{ row: string }>(
        `SELECT entity_id || '@' || entity_version AS row FROM "${t.schema}".outbox ORDER BY 1`,
      )
    ).rows.map((r) => r.row);

  async function change(id: string, times: number): Promise<void> {
    const producer = createProducer({ context: 'profile', schema: t.schema });
    for (let i = 0; i < times; i++) {
      await t.db.transaction((tx) =>
        producer.append(tx, { type: 'customer', id }, { kind: 'state', data: { i } }),
      );
    }
  }

  /** Relays everything committed so far (waiting out other suites' open transactions). */
  async function relayAll(name = 'default') {
    const relay = createRelay({
      db: t.db,
      name,
      backbone: await createPostgresLog({ db: t.db, schema: t.schema, partitions: 2 }),
      schema: t.schema,
    });
    await expect
      .poll(
        async () => {
          await relay.drain();
          return (await relay.status()).backlog;
        },
        { timeout: 20_000 },
      )
      .toBe(0);
  }

  it('deletes only superseded rows every relay has passed; each entity keeps its newest', async () => {
    await change('a', 3);
    await change('b', 1);
    expect(await pruneOutbox(t.db, { schema: t.schema })).toEqual({ pruned: 0 }); // nothing relayed yet
    await relayAll();
    await change('a', 1); // a@4: not relayed yet, and it supersedes a@3
    expect(await pruneOutbox(t.db, { schema: t.schema, dryRun: true })).toMatchObject({ pruned: 3 });
    expect(await rows()).toEqual(['a@1', 'a@2', 'a@3', 'a@4', 'b@1']);
    const result = await pruneOutbox(t.db, { schema: t.schema, batchSize: 2 });
    expect(result).toEqual({ pruned: 3, slowestRelay: { name: 'default', relayed: 4 } });
    expect(await rows()).toEqual(['a@4', 'b@1']);
    // The ledger still answers for the newest versions.
    const ledger = createLedger({ db: t.db, schema: t.schema });
    expect((await ledger.status('customer', 'a')).latestVersion).toBe(4);
    expect((await ledger.status('customer', 'b')).latestVersion).toBe(1);
  });

  it('a relay that lags (or was abandoned) holds back every row it has not passed, and is named', async () => {
    await change('a', 2);
    await relayAll('fast');
    await t.db.query(`INSERT INTO "${t.schema}".relay_checkpoints (relay) VALUES ('abandoned')`);
    expect(await pruneOutbox(t.db, { schema: t.schema })).toEqual({
      pruned: 0,
      slowestRelay: { name: 'abandoned', relayed: 0 },
    });
    expect(await rows()).toEqual(['a@1', 'a@2']);
  });

  it('keeps rows younger than olderThan', async () => {
    await change('a', 2);
    await relayAll();
    expect(
      await pruneOutbox(t.db, { schema: t.schema, olderThan: new Date(Date.now() - 3_600_000) }),
    ).toMatchObject({
      pruned: 0,
    });
    expect(
      await pruneOutbox(t.db, { schema: t.schema, olderThan: new Date(Date.now() + 60_000) }),
    ).toMatchObject({
      pruned: 1,
    });
    expect(await rows()).toEqual(['a@2']);
  });
});
