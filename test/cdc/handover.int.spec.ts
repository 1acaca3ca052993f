import { afterEach, describe, expect, it } from 'vitest';
import { postgresAvailable } from '../support/services.js';
import { openLegacyEstate, type LegacyEstate } from './legacy.js';

const available = await postgresAvailable();

describe.skipIf(!available)('CDC initial snapshot hand-over to streaming', () => {
  let estate: LegacyEstate | undefined;
  afterEach(async () => {
    await estate?.cleanup();
    estate = undefined;
  });

  it('Given writers updating, inserting and deleting rows while the snapshot runs in chunks, then every change arrives once, no state goes backwards, and the outbox ends equal to the table', async () => {
    estate = await openLegacyEstate();
    const { source, table } = estate;
    const initialRows = 600;
    await source.query(
      `INSERT INTO ${table} (id, addr_line1) SELECT g, 'street ' || g FROM generate_series(1, $1::int) g`,
      [initialRows],
    );
    const capture = estate.capture({ snapshotChunkSize: 40 });
    await capture.start();

    // Writers run until the snapshot is done; every (id, rev) they commit must reach the outbox from the stream.
    const written: { id: number; rev: number }[] = [];
    let snapshotFinished = false;
    const snapshot = capture.snapshotDone().finally(() => {
      snapshotFinished = true;
    });
    let nextId = initialRows + 1;
    let step = 0;
    let writesDuringSnapshot = 0;
    // A bounded burst: the capture works through it in commit order, snapshot chunks in between.
    while (step < 1200) {
      if (!snapshotFinished) writesDuringSnapshot += 1;
      step += 1;
      const id = 1 + ((step * 7919) % (nextId - 1));
      if (step % 10 === 0) {
        const inserted = nextId++;
        await source.query(`INSERT INTO ${table} (id, addr_line1) VALUES ($1, $2)`, [
          inserted,
          `new ${inserted}`,
        ]);
        written.push({ id: inserted, rev: 1 });
      } else if (step % 37 === 0) {
        await source.query(`DELETE FROM ${table} WHERE id = $1`, [id]);
      } else {
        const { rows } = await source.query<{ rev: number }>(
          `UPDATE ${table} SET rev = rev + 1, addr_line1 = 'moved ' || (rev + 1) WHERE id = $1 RETURNING rev`,
          [id],
        );
        if (rows[0]) written.push({ id, rev: rows[0].rev });
      }
    }
    await snapshot;
    expect(writesDuringSnapshot).toBeGreaterThan(100);
    await capture.catchUp();

    const events = await estate.outbox();
    const byEntity = new Map<string, typeof events>();
    for (const e of events) byEntity.set(e.id, [...(byEntity.get(e.id) ?? []), e]);

    // No loss: every committed write is in the outbox exactly once as a streamed change.
    const streamed = events
      .filter((e) => e.type === 'CustomerAddressChanged')
      .map((e) => `${e.id}@${e.data.rev}`);
    expect(new Set(streamed).size).toBe(streamed.length);
    for (const w of written) expect(streamed).toContain(`${w.id}@${w.rev}`);

    // No double application: per entity the states only move forward (a snapshot copy never repeats or undoes a change).
    for (const [id, list] of byEntity) {
      const revs = list.filter((e) => e.type !== 'customer.deleted').map((e) => e.data.rev);
      for (let i = 1; i < revs.length; i += 1) {
        expect(revs[i], `entity ${id} revs ${revs.join(',')}`).toBeGreaterThan(revs[i - 1]!);
      }
    }

    // The outbox's last word per entity equals the legacy table.
    const { rows } = await source.query<{ id: number; rev: number }>(`SELECT id, rev FROM ${table}`);
    const present = new Map(rows.map((r) => [String(r.id), r.rev]));
    for (const [id, list] of byEntity) {
      const last = list.at(-1)!;
      if (present.has(id)) expect(last.data.rev, `entity ${id}`).toBe(present.get(id));
      else expect(last.type, `entity ${id}`).toBe('customer.deleted');
    }
    for (const id of present.keys()) expect(byEntity.has(id), `entity ${id} missing`).toBe(true);

    const status = await capture.status();
    expect(status.snapshot).toEqual([{ table, lastKey: expect.any(Array), done: true }]);
    await capture.stop();
  });
});
