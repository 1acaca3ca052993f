import { describe, expect, it } from 'vitest';
import { parseDebeziumEvent } from '../../src/cdc/index.js';
import { isTidemarkError } from '../../src/errors.js';
import { debeziumEvent } from './debezium-events.js';

const table = 'legacy.customers';
const keys = new Map([[table, ['id']]]);

describe('parseDebeziumEvent', () => {
  it('reads the JsonConverter wrapping { schema, payload } like the bare payload, with the LSN in PostgreSQL notation', () => {
    const payload = debeziumEvent(table, 'u', { after: { id: 7, rev: 2, addr_line1: 'a' } }, 0x1_0000_002a);
    const bare = parseDebeziumEvent(payload, keys);
    const wrapped = parseDebeziumEvent({ schema: { type: 'struct' }, payload }, keys);
    expect(wrapped).toEqual(bare);
    expect(bare).toMatchObject({ op: 'update', table, key: { id: 7 }, lsn: '1/2A', before: null });
    expect(bare?.committedAt).toEqual(new Date(1_790_000_000_000));
  });

  it('maps c, u, d, r, t to insert, update, delete, snapshot, truncate; a delete is keyed by its before row', () => {
    const row = { id: 3, rev: 1, addr_line1: null };
    const ops = (['c', 'u', 'd', 'r', 't'] as const).map((op) =>
      parseDebeziumEvent(debeziumEvent(table, op, op === 'd' ? { before: row } : { after: row }), keys)!,
    );
    expect(ops.map((c) => c.op)).toEqual(['insert', 'update', 'delete', 'snapshot', 'truncate']);
    expect(ops[2]!.key).toEqual({ id: 3 });
    expect(ops[4]!.key).toEqual({});
  });

  it('ignores tombstones and heartbeats, and refuses an unknown op with TM_CDC_EVENT_INVALID', () => {
    expect(parseDebeziumEvent(null, keys)).toBeUndefined();
    expect(parseDebeziumEvent({ source: { lsn: 1 }, ts_ms: 1 }, keys)).toBeUndefined();
    const refused = (() => {
      try {
        return parseDebeziumEvent(
          { ...debeziumEvent(table, 'c', { after: { id: 1, rev: 1, addr_line1: '' } }), op: 'm' },
          keys,
        );
      } catch (err) {
        return err;
      }
    })();
    expect(isTidemarkError(refused, 'TM_CDC_EVENT_INVALID')).toBe(true);
  });
});
