import pg from 'pg';
import { randomUUID } from 'node:crypto';
import {
  createCapture,
  type Capture,
  type CaptureOptions,
  type RowChange,
  type Translator,
} from '../../src/cdc/index.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { postgresUrl, serverDb, uniqueSchema, type TestDb } from '../support/services.js';

/**
 * A legacy "policy admin" database for CDC tests: a wide `customers` table in a schema of its
 * own on the shared server, and a Tidemark schema whose outbox the capture writes.
 */
export interface LegacyEstate {
  readonly tidemark: TestDb;
  readonly legacySchema: string;
  readonly table: string;
  readonly source: pg.Client;
  readonly captureName: string;
  capture(overrides?: Partial<CaptureOptions>): Capture;
  /** Events in outbox order: entity id, type, data. */
  outbox(): Promise<
    { id: string; type: string; data: { rev: number; op: string; addressLine1: string | null } }[]
  >;
  deadLetters(): Promise<
    { event_id: string; code: string; reason: string; envelope: { change: RowChange } }[]
  >;
  cleanup(): Promise<void>;
}

export const context = 'customer-profile';

/** legacy customers row → CustomerAddressChanged (stream) / CustomerSnapshot (initial snapshot). */
export function customerTranslator(table: string, extra: Partial<Translator> = {}): Translator {
  return {
    table,
    translate(change) {
      const row = change.after ?? change.before!;
      if (change.op === 'delete') {
        return { entity: { type: 'customer', id: String(row.id) }, event: { kind: 'tombstone' } };
      }
      return {
        entity: { type: 'customer', id: String(row.id) },
        event: {
          kind: 'domain',
          type: change.op === 'snapshot' ? 'CustomerSnapshot' : 'CustomerAddressChanged',
          data: {
            rev: Number(row.rev),
            op: change.op,
            addressLine1: (row.addr_line1 as string | null) ?? null,
          },
        },
      };
    },
    ...extra,
  };
}

export async function openLegacyEstate(): Promise<LegacyEstate> {
  const tidemark = await serverDb();
  const legacySchema = uniqueSchema('legacy');
  const table = `${legacySchema}.customers`;
  const source = new pg.Client({ connectionString: postgresUrl });
  await source.connect();
  await source.query(`CREATE SCHEMA ${legacySchema}`);
  await source.query(
    `CREATE TABLE ${table} (id integer PRIMARY KEY, rev integer NOT NULL DEFAULT 1, addr_line1 text,
       postcode text, status_cd char(1) NOT NULL DEFAULT 'A')`,
  );
  await registerAuthority(tidemark.db, { entityType: 'customer', context }, tidemark.schema);
  const producer = createProducer({ context, schema: tidemark.schema, notify: false });
  const captureName = `t${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const captures: Capture[] = [];
  return {
    tidemark,
    legacySchema,
    table,
    source,
    captureName,
    capture(overrides = {}) {
      const capture = createCapture({
        name: captureName,
        source: { connectionString: postgresUrl },
        translators: [customerTranslator(table)],
        sink: { db: tidemark.db, schema: tidemark.schema, producer },
        ...overrides,
      });
      captures.push(capture);
      return capture;
    },
    async outbox() {
      const { rows } = await tidemark.db.query<{ id: string; type: string; data: never }>(
        `SELECT entity_id AS id, envelope->>'type' AS type, envelope->'data' AS data
         FROM "${tidemark.schema}".outbox ORDER BY txid, position`,
      );
      return rows;
    },
    async deadLetters() {
      const { rows } = await tidemark.db.query<never>(
        `SELECT event_id, code, reason, envelope FROM "${tidemark.schema}".dead_letters WHERE consumer = $1 ORDER BY id`,
        [`cdc:${captureName}`],
      );
      return rows;
    },
    async cleanup() {
      for (const capture of captures) await capture.stop().catch(() => {});
      // An abandoned slot retains WAL for ever: always drop it, whatever the test did.
      await dropSlot(source, `tidemark_${captureName}`);
      await source.query(`DROP PUBLICATION IF EXISTS tidemark_${captureName}`);
      await source.query(`DROP SCHEMA IF EXISTS ${legacySchema} CASCADE`);
      await source.end();
      await tidemark.cleanup();
    },
  };
}

export async function dropSlot(client: pg.Client, slot: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    try {
      await client.query(
        `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`,
        [slot],
      );
      return;
    } catch (err) {
      if (!/is active/.test((err as Error).message)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`replication slot ${slot} stayed active; drop it by hand`);
}
