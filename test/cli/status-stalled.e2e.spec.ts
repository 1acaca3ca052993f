import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresLog } from '../../src/backbone/index.js';
import { createConsumer, type Consumer } from '../../src/consumer/index.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { createRelay, type Relay } from '../../src/relay/index.js';
import { tidemark } from '../support/cli.js';
import { postgresAvailable, postgresUrl, serverDb, type TestDb } from '../support/services.js';

const serverUp = await postgresAvailable();
const authority = 'customer-profile';

/** The relay reads only below the server's oldest open transaction: drain until the row moved. */
async function relayOne(relay: Relay): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await relay.drain()) === 0) {
    if (Date.now() > deadline) throw new Error('the appended event was not relayed in 60 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(!serverUp)('tidemark status names a stalled consumer', () => {
  let t: TestDb;
  let relay: Relay;
  let consumer: Consumer;
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const append = (expectedVersion: number) =>
    t.db.transaction((tx) =>
      createProducer({ context: authority, schema: t.schema }).append(
        tx,
        { type: 'customer', id: 'c-1' },
        { kind: 'domain', type: 'CustomerAddressChanged', data: {} },
        { expectedVersion },
      ),
    );
  const status = (...extra: string[]) =>
    tidemark(
      ['status', 'customer/c-1', '--db', postgresUrl, '--schema', t.schema, '--stall-after', '1', ...extra],
      {
        cwd: tmpdir(),
      },
    );

  beforeAll(async () => {
    t = await serverDb();
    await registerAuthority(t.db, { entityType: 'customer', context: authority }, t.schema);
    const log = await createPostgresLog({
      db: t.db,
      schema: t.schema,
      partitions: 2,
      timing: { heartbeatMs: 200, pollMs: 20, retryBaseMs: 5, retryMaxMs: 20 },
    });
    relay = createRelay({ db: t.db, backbone: log, schema: t.schema });
    consumer = createConsumer({
      name: 'billing',
      db: t.db,
      schema: t.schema,
      backbone: log,
      // Version 2 waits on something that does not answer (a lock, a remote call).
      handlers: {
        customer: { apply: (_tx, event) => (event.entityversion === 2 ? gate : Promise.resolve()) },
      },
    });
    await consumer.start();
  });
  afterAll(async () => {
    release();
    await consumer?.stop();
    await t?.cleanup();
  });

  it('while its handler hangs with work waiting, and not once the event is applied', async () => {
    // Given billing applied version 1 (its inbox is in this schema) and hangs on version 2
    await append(0);
    await relayOne(relay);
    await expect.poll(() => consumer.appliedVersion('customer', 'c-1'), { timeout: 30_000 }).toBe(1);
    await append(1);
    await relayOne(relay);
    await expect.poll(() => consumer.progress!().batchesInHand, { timeout: 30_000 }).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 1_200));

    // When an operator asks for the customer's status
    const stuck = await status();
    expect(stuck.code).toBe(0);
    expect(stuck.stdout).toMatch(
      /\nConsumer stalled: consumer 'billing' has had 1 event waiting since \S+ and applied none for \d+ s/,
    );
    const json = JSON.parse((await status('--json')).stdout) as {
      stalledConsumers?: { consumer: string; stalled: boolean; lag: number }[];
    };
    expect(json.stalledConsumers).toMatchObject([{ consumer: 'billing', stalled: true, lag: 1 }]);

    // Then, once the handler answers, the stall is gone from the answer
    release();
    await expect.poll(() => consumer.appliedVersion('customer', 'c-1'), { timeout: 30_000 }).toBe(2);
    await expect
      .poll(async () => (await status()).stdout, { timeout: 30_000 })
      .not.toContain('Consumer stalled');
  }, 150_000);
});
