import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { databaseKinds } from '../support/both-databases.js';
import type { TestDb } from '../support/services.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { createRelay } from '../../src/relay/index.js';
import { createPostgresLog } from '../../src/backbone/index.js';
import type { Backbone } from '../../src/backbone/index.js';
import type { Db } from '../../src/store/db.js';

const kinds = await databaseKinds();

describe.each(kinds)('relay crash and resume on $name', (kind) => {
  let t: TestDb;
  beforeEach(async () => {
    t = await kind.open();
    await registerAuthority(t.db, { entityType: 'customer', context: 'profile' }, t.schema);
  });
  afterEach(() => t.cleanup());

  async function appendMany(count: number, prefix: string): Promise<void> {
    const producer = createProducer({ context: 'profile', schema: t.schema });
    for (let i = 0; i < count; i++) {
      await t.db.transaction((tx) =>
        producer.append(tx, { type: 'customer', id: `${prefix}${i % 7}` }, { kind: 'state', data: { i } }),
      );
    }
  }
  /**
   * Waits until every outbox row is below the oldest running transaction, so the relay calls
   * below see them all even if another suite on this server has a transaction open right now.
   */
  const settled = async (rows: number) =>
    expect
      .poll(
        async () =>
          Number(
            (
              await t.db.query<{ n: number }>(
                `SELECT count(*) AS n FROM "${t.schema}".outbox WHERE txid < pg_snapshot_xmin(pg_current_snapshot())`,
              )
            ).rows[0]!.n,
          ),
        { timeout: 10_000 },
      )
      .toBe(rows);
  const logCount = async () =>
    Number(
      (
        await t.db.query<{ n: number; d: number }>(
          `SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM "${t.schema}".log`,
        )
      ).rows[0]!.n,
    );

  it('given a relay that died holding the lease, a second one takes over after the lease and resumes at the checkpoint', async () => {
    const backbone = await createPostgresLog({ db: t.db, schema: t.schema, partitions: 2 });
    await appendMany(30, 'a');
    await settled(30);
    const first = createRelay({ db: t.db, backbone, schema: t.schema, batchSize: 10, leaseMs: 400 });
    expect(await first.relayOnce()).toBe(10);
    // `first` is never stopped: it "crashed" with its lease still recorded.
    const second = createRelay({ db: t.db, backbone, schema: t.schema, batchSize: 10, leaseMs: 400 });
    expect(await second.relayOnce()).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(await second.drain()).toBe(20);
    expect(await logCount()).toBe(30);
    // The dead relay cannot write behind the new owner's back: its cursor update is fenced.
    expect(await first.relayOnce()).toBe(0);
    expect(await logCount()).toBe(30);
    const status = await second.status();
    expect(status).toMatchObject({ relayed: 30, backlog: 0, owner: second.member });
  });

  it('an idle running relay keeps its lease (renewed by half-lease) and another instance cannot take over', async () => {
    const backbone = await createPostgresLog({ db: t.db, schema: t.schema, partitions: 2 });
    const owner = createRelay({ db: t.db, backbone, schema: t.schema, leaseMs: 400, pollMs: 20 });
    const standby = createRelay({ db: t.db, backbone, schema: t.schema, leaseMs: 400 });
    owner.start();
    try {
      await expect.poll(async () => (await owner.status()).owner, { timeout: 10_000 }).toBe(owner.member);
      // Five leases long, with nothing to relay: only the renewals keep the lease alive.
      for (let i = 0; i < 10; i++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(await standby.relayOnce()).toBe(0);
        expect((await owner.status()).owner).toBe(owner.member);
      }
      await appendMany(5, 'idle');
      await settled(5);
      await expect.poll(logCount, { timeout: 10_000 }).toBe(5);
    } finally {
      await owner.stop();
    }
    // Stopped, it gives the lease back at once.
    expect(await standby.relayOnce()).toBe(0);
    expect((await standby.status()).owner).toBe(standby.member);
  });

  it('given a backbone outside the outbox transaction that fails after publishing, the retry republishes without duplicates', async () => {
    // A distinct Db object for the backbone: the relay cannot join its transaction.
    const otherHandle: Db = { ...t.db };
    const log = await createPostgresLog({ db: otherHandle, schema: t.schema, partitions: 2 });
    let failNext = true;
    const flaky: Backbone = {
      ...log,
      async publish(batch, options) {
        await log.publish(batch, options);
        if (failNext) {
          failNext = false;
          throw new Error('connection reset after publish');
        }
      },
    };
    await appendMany(12, 'b');
    await settled(12);
    const relay = createRelay({ db: t.db, backbone: flaky, schema: t.schema, batchSize: 5 });
    await expect(relay.relayOnce()).rejects.toThrow('connection reset after publish');
    expect(await logCount()).toBe(5);
    expect(await relay.drain()).toBe(12);
    expect(await logCount()).toBe(12);
  });
});
