import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDebeziumIngest, createSourcePrecedence, type Translator } from '../../src/cdc/index.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { reconcileExceptions } from '../../src/reconcile/index.js';
import { databaseKinds } from '../support/both-databases.js';
import type { TestDb } from '../support/services.js';
import { debeziumEvent } from './debezium-events.js';
import { context } from './legacy.js';

const table = 'legacy.customers';
const kinds = await databaseKinds();

/** Legacy address changes assert the `addressLine1` field. */
const addressTranslator: Translator = {
  table,
  key: ['id'],
  translate(change) {
    const row = change.after!;
    const fields = { addressLine1: row.addr_line1 };
    return {
      entity: { type: 'customer', id: String(row.id) },
      event: { kind: 'domain', type: 'CustomerAddressChanged', data: fields },
      fields,
    };
  },
};

describe.each(kinds)('Source precedence conflicts in the ledger and the exception queue on $name', (kind) => {
  let tidemark: TestDb;
  let n = 0;

  beforeAll(async () => {
    tidemark = await kind.open();
    await registerAuthority(tidemark.db, { entityType: 'customer', context }, tidemark.schema);
  });
  afterAll(async () => {
    await tidemark.cleanup();
  });

  function estate() {
    n += 1;
    const precedence = createSourcePrecedence({
      schema: tidemark.schema,
      rules: { customer: { addressLine1: 'new', '*': 'legacy' } },
      ledger: { authority: context },
      exceptions: { flow: `cdc:policy_admin_${n}` },
    });
    const producer = createProducer({ context, schema: tidemark.schema, notify: false });
    const ingest = createDebeziumIngest({
      name: `policy_admin_${n}`,
      translators: [addressTranslator],
      sink: { db: tidemark.db, schema: tidemark.schema, producer },
      precedence,
    });
    const id = String(n);
    /** The new authority writes the address: owned by it, appended as version 1. */
    const newAuthorityWrites = (address: string) =>
      tidemark.db.transaction(async (tx) => {
        const decision = await precedence.decide(
          tx,
          'new',
          { type: 'customer', id },
          { addressLine1: address },
          `new:${id}:${address}`,
        );
        expect(decision.admitted).toBe(true);
        await producer.append(
          tx,
          { type: 'customer', id },
          { kind: 'domain', type: 'CustomerAddressChanged', data: { addressLine1: address } },
        );
      });
    const stages = async () =>
      (
        await tidemark.db.query<{
          entity_version: string;
          context: string;
          stage: string;
          authority: string;
          detail: Record<string, unknown>;
        }>(
          `SELECT entity_version::text, context, stage, authority, detail FROM "${tidemark.schema}".ledger_stages
           WHERE entity_type = 'customer' AND entity_id = $1 ORDER BY at`,
          [id],
        )
      ).rows;
    return { precedence, ingest, id, newAuthorityWrites, stages, flow: `cdc:policy_admin_${n}` };
  }

  it('Given the new authority owns the address, when the legacy system writes another address, then the refusal is a rejected ledger stage of the capture with the field and reason, and an exception is opened; a replay adds neither again', async () => {
    const e = estate();
    await e.newAuthorityWrites('9 New Street');
    const legacyWrite = debeziumEvent(table, 'u', {
      after: { id: Number(e.id), rev: 2, addr_line1: '1 Old Road' },
    });

    const outcome = await e.ingest.ingest([legacyWrite]);
    await e.precedence.decide(
      tidemark.db,
      'legacy',
      { type: 'customer', id: e.id },
      { addressLine1: '1 Old Road' },
      'replayed-ref',
      e.ingest.name,
    );
    await tidemark.db.transaction((tx) =>
      e.precedence.decide(
        tx,
        'legacy',
        { type: 'customer', id: e.id },
        { addressLine1: '1 Old Road' },
        'replayed-ref',
        e.ingest.name,
      ),
    );

    expect(outcome.events).toBe(0);
    const stages = await e.stages();
    expect(stages).toEqual([
      {
        entity_version: '1',
        context: e.ingest.name,
        stage: 'rejected',
        authority: context,
        detail: expect.objectContaining({
          reason: `source precedence: ${e.ingest.name} (legacy) may not write addressLine1 (owned by new)`,
          fields: [{ field: 'addressLine1', value: '1 Old Road', owner: 'new', ownerValue: '9 New Street' }],
        }),
      },
    ]);
    const exceptions = await reconcileExceptions(tidemark.db, tidemark.schema).list({ flow: e.flow });
    expect(exceptions).toHaveLength(1);
    expect(exceptions[0]).toMatchObject({
      entityType: 'customer',
      entityId: e.id,
      class: 'precedence-conflict',
      status: 'open',
      authorityVersion: 1,
    });
    // The Debezium change and the direct replay of 'replayed-ref' are two refusals; the second replay none.
    expect(exceptions[0]!.notes.split('\n')).toHaveLength(2);
    expect(exceptions[0]!.notes).toContain('may not write addressLine1 (owned by new)');
  });

  it('Given a refused write in a transaction that rolls back, then neither the conflict, the ledger stage nor the exception remains', async () => {
    const e = estate();
    await e.newAuthorityWrites('9 New Street');
    const failed = await tidemark.db
      .transaction(async (tx) => {
        await e.precedence.decide(
          tx,
          'legacy',
          { type: 'customer', id: e.id },
          { addressLine1: 'elsewhere' },
          'rolled-back',
          'policy_admin',
        );
        throw new Error('the batch failed after the decision');
      })
      .catch((err: unknown) => err);
    expect((failed as Error).message).toBe('the batch failed after the decision');
    expect(await e.stages()).toEqual([]);
    expect(await reconcileExceptions(tidemark.db, tidemark.schema).list({ flow: e.flow })).toEqual([]);
    expect((await e.precedence.openConflicts(tidemark.db, 1000)).filter((c) => c.entityId === e.id)).toEqual(
      [],
    );
  });

  it('Given precedence without ledger or exceptions configured, then a conflict is recorded only in cdc_conflicts', async () => {
    const e = estate();
    const plain = createSourcePrecedence({ schema: tidemark.schema, rules: { customer: { '*': 'new' } } });
    await tidemark.db.transaction((tx) =>
      plain.decide(tx, 'new', { type: 'customer', id: e.id }, { addressLine1: 'a' }, `p:${e.id}:1`),
    );
    await tidemark.db.transaction((tx) =>
      plain.decide(tx, 'legacy', { type: 'customer', id: e.id }, { addressLine1: 'b' }, `p:${e.id}:2`),
    );
    expect((await plain.openConflicts(tidemark.db, 1000)).filter((c) => c.entityId === e.id)).toHaveLength(1);
    expect(await e.stages()).toEqual([]);
    expect(await reconcileExceptions(tidemark.db, tidemark.schema).list({ flow: e.flow })).toEqual([]);
  });
});
