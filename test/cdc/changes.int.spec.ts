import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createSourcePrecedence, type CaptureNotice } from '../../src/cdc/index.js';
import { isTidemarkError } from '../../src/errors.js';
import { postgresAvailable, postgresUrl } from '../support/services.js';
import { customerTranslator, dropSlot, openLegacyEstate, type LegacyEstate } from './legacy.js';

const available = await postgresAvailable();

describe.skipIf(!available)(
  'CDC: truncate, schema changes, translator rejects, lost slots, precedence',
  () => {
    let estate: LegacyEstate | undefined;
    afterEach(async () => {
      await estate?.cleanup();
      estate = undefined;
    });

    it('Given a translator without a truncate handler, when the legacy table is truncated, then the truncate is a dead letter with the reason; with a handler it becomes an event', async () => {
      estate = await openLegacyEstate();
      const { table } = estate;
      const capture = estate.capture({ snapshot: 'never' });
      await capture.start();
      await estate.source.query(`INSERT INTO ${table} (id) VALUES (1)`);
      await estate.source.query(`TRUNCATE ${table}`);
      await capture.catchUp();
      const dead = await estate.deadLetters();
      expect(dead).toHaveLength(1);
      expect(dead[0]!.code).toBe('TM_CDC_TRANSLATION_FAILED');
      expect(dead[0]!.reason).toContain(`TRUNCATE of ${table}`);
      expect(dead[0]!.envelope.change.op).toBe('truncate');
      await capture.stop();

      const withHandler = estate.capture({
        snapshot: 'never',
        translators: [
          customerTranslator(table, {
            truncate: () => ({
              entity: { type: 'customer', id: '*' },
              event: { kind: 'domain', type: 'CustomerBookCleared', data: {} },
            }),
          }),
        ],
      });
      await withHandler.start();
      await estate.source.query(`TRUNCATE ${table}`);
      await withHandler.catchUp();
      expect((await estate.outbox()).map((e) => e.type)).toEqual([
        'CustomerAddressChanged',
        'CustomerBookCleared',
      ]);
      await withHandler.stop();
    });

    it('Given a captured table whose schema changes mid-stream, then the translator sees the new column, and a rename it relies on is dead-lettered with the reason', async () => {
      estate = await openLegacyEstate();
      const { table } = estate;
      const notices: CaptureNotice[] = [];
      const capture = estate.capture({
        snapshot: 'never',
        onNotice: (n) => notices.push(n),
        translators: [
          {
            table,
            translate(change) {
              const row = change.after!;
              if (!('addr_line1' in row))
                throw new Error('column addr_line1 is gone: the legacy schema changed');
              return {
                entity: { type: 'customer', id: String(row.id) },
                event: {
                  kind: 'domain',
                  type: 'CustomerAddressChanged',
                  data: { email: row.email ?? null, rev: 1 },
                },
              };
            },
          },
        ],
      });
      await capture.start();
      await estate.source.query(`INSERT INTO ${table} (id, addr_line1) VALUES (1, 'a')`);
      await estate.source.query(`ALTER TABLE ${table} ADD COLUMN email text`);
      await estate.source.query(
        `INSERT INTO ${table} (id, addr_line1, email) VALUES (2, 'b', 'b@example.com')`,
      );
      await estate.source.query(`ALTER TABLE ${table} RENAME COLUMN addr_line1 TO address_1`);
      await estate.source.query(`INSERT INTO ${table} (id, address_1) VALUES (3, 'c')`);
      await capture.catchUp();
      const events = await estate.outbox();
      expect(events.map((e) => [e.id, (e.data as unknown as { email: string | null }).email])).toEqual([
        ['1', null],
        ['2', 'b@example.com'],
      ]);
      const dead = await estate.deadLetters();
      expect(dead.map((d) => d.reason)).toEqual([expect.stringContaining('column addr_line1 is gone')]);
      expect(notices.filter((n) => n.type === 'schema-changed').length).toBeGreaterThanOrEqual(2);
      await capture.stop();
    });

    it('Given a capture whose slot was dropped, when it starts, then it refuses with TM_CDC_SLOT_MISSING and the fix; after reset it re-seeds with a snapshot', async () => {
      estate = await openLegacyEstate();
      const { table } = estate;
      await estate.source.query(`INSERT INTO ${table} (id) VALUES (1), (2)`);
      const first = estate.capture({ snapshot: 'never' });
      await first.start();
      await estate.source.query(`UPDATE ${table} SET rev = 2 WHERE id = 1`);
      await first.catchUp();
      await first.stop();
      await dropSlot(estate.source, `tidemark_${estate.captureName}`);

      const second = estate.capture();
      const refused = await second.start().catch((err: unknown) => err);
      expect(isTidemarkError(refused, 'TM_CDC_SLOT_MISSING')).toBe(true);
      expect((refused as Error).message).toContain(`tidemark cdc reset --capture ${estate.captureName}`);

      await second.reset();
      const third = estate.capture();
      await third.start();
      await third.snapshotDone();
      await third.catchUp();
      expect((await estate.outbox()).map((e) => `${e.type}:${e.id}`)).toEqual([
        'CustomerAddressChanged:1',
        'CustomerSnapshot:1',
        'CustomerSnapshot:2',
      ]);
      await third.stop();
    });

    it('Given a role without REPLICATION, when a capture starts, then it refuses with TM_CDC_PRIVILEGE naming the ALTER ROLE fix', async () => {
      estate = await openLegacyEstate();
      const role = `${estate.captureName}_r`;
      const admin = new pg.Client({ connectionString: postgresUrl });
      await admin.connect();
      try {
        await admin.query(`CREATE ROLE ${role} LOGIN`);
        const url = new URL(postgresUrl);
        url.username = role;
        const capture = estate.capture({ source: { connectionString: url.toString() }, snapshot: 'never' });
        const refused = await capture.start().catch((err: unknown) => err);
        expect(isTidemarkError(refused, 'TM_CDC_PRIVILEGE')).toBe(true);
        expect((refused as Error).message).toContain(`ALTER ROLE ${role} WITH REPLICATION`);
      } finally {
        await admin.query(`DROP ROLE IF EXISTS ${role}`);
        await admin.end();
      }
    });

    it('Given the new authority owns the address, when the legacy system writes a different address, then no event is emitted and an open conflict is recorded; an echo of the new value is dropped silently', async () => {
      estate = await openLegacyEstate();
      const { table, tidemark } = estate;
      const precedence = createSourcePrecedence({
        schema: tidemark.schema,
        rules: { customer: { addressLine1: 'new', status: 'legacy', '*': 'legacy' } },
      });
      const capture = estate.capture({
        snapshot: 'never',
        precedence,
        translators: [
          {
            table,
            translate(change) {
              const row = change.after!;
              const fields =
                change.op === 'update' && row.status_cd !== change.before?.status_cd
                  ? { status: row.status_cd }
                  : { addressLine1: row.addr_line1 };
              return {
                entity: { type: 'customer', id: String(row.id) },
                event: { kind: 'domain', type: 'CustomerChanged', data: { ...fields, rev: Number(row.rev) } },
                fields,
              };
            },
          },
        ],
      });
      // The new authority wrote the address first, recording it under precedence.
      await tidemark.db.transaction((tx) =>
        precedence.decide(
          tx,
          'new',
          { type: 'customer', id: '1' },
          { addressLine1: '9 New Street' },
          'new:1',
        ),
      );
      await estate.source.query(`ALTER TABLE ${table} REPLICA IDENTITY FULL`);
      await capture.start();
      await estate.source.query(`INSERT INTO ${table} (id, addr_line1) VALUES (1, '1 Old Road')`);
      await estate.source.query(`UPDATE ${table} SET addr_line1 = '9 New Street', rev = 2 WHERE id = 1`);
      await estate.source.query(`UPDATE ${table} SET status_cd = 'X', rev = 3 WHERE id = 1`);
      await capture.catchUp();

      expect((await estate.outbox()).map((e) => e.data.rev)).toEqual([3]);
      const conflicts = await precedence.openConflicts(tidemark.db);
      expect(conflicts).toEqual([
        expect.objectContaining({
          entityType: 'customer',
          entityId: '1',
          field: 'addressLine1',
          rejectedSource: 'legacy',
          rejectedValue: '1 Old Road',
          winningSource: 'new',
          winningValue: '9 New Street',
        }),
      ]);
      await capture.stop();
    });
  },
);
