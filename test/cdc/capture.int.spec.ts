import { afterEach, describe, expect, it } from 'vitest';
import { postgresAvailable } from '../support/services.js';
import { openLegacyEstate, type LegacyEstate } from './legacy.js';

const available = await postgresAvailable();

describe.skipIf(!available)('CDC capture from PostgreSQL logical replication', () => {
  let estate: LegacyEstate | undefined;
  afterEach(async () => {
    await estate?.cleanup();
    estate = undefined;
  });

  it('Given a captured table, when rows are inserted, updated and deleted, then each change arrives once in the outbox as a typed event', async () => {
    estate = await openLegacyEstate();
    const capture = estate.capture({ snapshot: 'never' });
    await capture.start();
    await estate.source.query(
      `INSERT INTO ${estate.table} (id, addr_line1) VALUES (1, '1 Old Road'), (2, '2 Elm')`,
    );
    await estate.source.query(`UPDATE ${estate.table} SET addr_line1 = '9 New Street', rev = 2 WHERE id = 1`);
    await estate.source.query(`DELETE FROM ${estate.table} WHERE id = 2`);
    await capture.catchUp();
    const events = await estate.outbox();
    expect(events.map((e) => [e.id, e.type, e.data?.addressLine1 ?? null])).toEqual([
      ['1', 'CustomerAddressChanged', '1 Old Road'],
      ['2', 'CustomerAddressChanged', '2 Elm'],
      ['1', 'CustomerAddressChanged', '9 New Street'],
      ['2', 'customer.deleted', null],
    ]);
    const status = await capture.status();
    expect(status.checkpointLsn).not.toBe('0/0');
    await capture.stop();
  });
});
