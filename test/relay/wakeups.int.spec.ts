import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { databaseKinds } from '../support/both-databases.js';
import type { TestDb } from '../support/services.js';
import { customerRowsInLog } from '../support/log-rows.js';
import { createProducer, registerAuthority, type ProducerOptions } from '../../src/producer/index.js';
import { outboxChannel } from '../../src/producer/channel.js';
import { createRelay } from '../../src/relay/index.js';
import { createPostgresLog } from '../../src/backbone/index.js';
import { isTidemarkError } from '../../src/errors.js';

const kinds = await databaseKinds();

describe.each(kinds)('how appends wake the relay on $name', (kind) => {
  let t: TestDb;
  beforeEach(async () => {
    t = await kind.open();
    await registerAuthority(t.db, { entityType: 'customer', context: 'profile' }, t.schema);
  });
  afterEach(() => t.cleanup());

  async function appendEach(options: Partial<ProducerOptions>, ids: readonly string[]): Promise<void> {
    const producer = createProducer({ context: 'profile', schema: t.schema, ...options });
    for (const id of ids) {
      await t.db.transaction((tx) =>
        producer.append(tx, { type: 'customer', id }, { kind: 'state', data: {} }),
      );
    }
  }

  async function notificationsDuring(work: () => Promise<void>): Promise<number> {
    let heard = 0;
    const stop = await t.db.listen(outboxChannel(t.schema), () => heard++);
    try {
      await work();
      // Notifications arrive after the commit; give the last one a moment to be delivered.
      await new Promise((resolve) => setTimeout(resolve, 300));
      return heard;
    } finally {
      await stop();
    }
  }

  it('by default a burst of appends sends one notification, not one per commit', async () => {
    const burst = ['a', 'b', 'c', 'd', 'e', 'f'];
    // A long interval makes the count independent of how fast this machine is.
    expect(await notificationsDuring(() => appendEach({ notify: { minIntervalMs: 60_000 } }, burst))).toBe(1);
    expect(await notificationsDuring(() => appendEach({ notify: true }, burst))).toBe(burst.length);
    expect(await notificationsDuring(() => appendEach({ notify: false }, burst))).toBe(0);
  });

  it('refuses a negative or non-numeric interval, naming the option', () => {
    for (const minIntervalMs of [-1, Number.NaN]) {
      let caught: unknown;
      try {
        createProducer({ context: 'profile', schema: t.schema, notify: { minIntervalMs } });
      } catch (error) {
        caught = error;
      }
      expect(isTidemarkError(caught, 'TM_INVALID_ARGUMENT')).toBe(true);
      expect((caught as Error).message).toContain('notify.minIntervalMs');
    }
  });

  describe('hot polling after a batch that moved rows', () => {
    const inLog = (id: string) => customerRowsInLog(t, id);
    /** Waits until the row is below every running transaction, so the relay can see it at once. */
    const visible = (id: string) =>
      expect
        .poll(
          async () =>
            Number(
              (
                await t.db.query<{ n: number }>(
                  `SELECT count(*) AS n FROM "${t.schema}".outbox
                   WHERE entity_id = $1 AND txid < pg_snapshot_xmin(pg_current_snapshot())`,
                  [id],
                )
              ).rows[0]!.n,
            ),
          { timeout: 20_000 },
        )
        .toBe(1);

    /** A started relay that has just moved 'first'; cold polling once a minute. */
    async function hotRelay(hotForMs: number) {
      const backbone = await createPostgresLog({ db: t.db, schema: t.schema, partitions: 2 });
      // Only the first append of the minute notifies; the ones after it rely on the relay.
      const producer = createProducer({
        context: 'profile',
        schema: t.schema,
        notify: { minIntervalMs: 60_000 },
      });
      const append = async (id: string) => {
        await t.db.transaction((tx) =>
          producer.append(tx, { type: 'customer', id }, { kind: 'state', data: {} }),
        );
        await visible(id);
      };
      await append('first');
      const relay = createRelay({
        db: t.db,
        backbone,
        schema: t.schema,
        pollMs: 60_000,
        hotPollMs: 10,
        hotForMs,
      });
      relay.start();
      await expect.poll(() => inLog('first'), { timeout: 20_000 }).toBe(1);
      return { relay, append };
    }

    it('finds appends that sent no notification while it is hot', async () => {
      const { relay, append } = await hotRelay(30_000);
      try {
        await append('second');
        // Well before the cold poll a minute away: the hot polls found it.
        await expect.poll(() => inLog('second'), { timeout: 20_000 }).toBe(1);
      } finally {
        await relay.stop();
      }
    });

    it('cools down once nothing moved for hotForMs: then a silent append waits for the cold poll', async () => {
      const { relay, append } = await hotRelay(200);
      try {
        await new Promise((resolve) => setTimeout(resolve, 600));
        await append('third');
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        expect(await inLog('third')).toBe(0);
      } finally {
        await relay.stop();
      }
    });
  });
});
