import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { embeddedDb, type TestDb } from '../support/services.js';
import { customerRowsInLog } from '../support/log-rows.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { createRelay } from '../../src/relay/index.js';
import { createPostgresLog } from '../../src/backbone/index.js';

/**
 * LISTEN/NOTIFY is what moves an append promptly when the relay is idle: with its polling
 * fallback a minute away, only the notification can bring the event into the log within the
 * 20 s this test waits. PGlite: no other session can hold the relay's horizon back meanwhile.
 */
describe('an idle relay is woken by the append’s notification (PGlite)', () => {
  let t: TestDb;
  beforeEach(async () => {
    t = await embeddedDb();
    await registerAuthority(t.db, { entityType: 'customer', context: 'profile' }, t.schema);
  });
  afterEach(() => t.cleanup());

  const inLog = (id: string) => customerRowsInLog(t, id);

  it('relays a notifying append long before the next poll, while a silent one waits in the outbox', async () => {
    const backbone = await createPostgresLog({ db: t.db, schema: t.schema, partitions: 2 });
    const relay = createRelay({ db: t.db, backbone, schema: t.schema, pollMs: 60_000, hotForMs: 0 });
    relay.start();
    try {
      // Let the relay finish its first, empty pass and go to sleep.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const notifying = createProducer({ context: 'profile', schema: t.schema });
      await t.db.transaction((tx) =>
        notifying.append(tx, { type: 'customer', id: 'woken' }, { kind: 'state', data: {} }),
      );
      await expect.poll(() => inLog('woken'), { timeout: 20_000 }).toBe(1);

      // Control: the same append without a notification stays in the outbox (the poll is a minute away).
      await new Promise((resolve) => setTimeout(resolve, 500));
      const silent = createProducer({ context: 'profile', schema: t.schema, notify: false });
      await t.db.transaction((tx) =>
        silent.append(tx, { type: 'customer', id: 'silent' }, { kind: 'state', data: {} }),
      );
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(await inLog('silent')).toBe(0);
    } finally {
      await relay.stop();
    }
  });
});
