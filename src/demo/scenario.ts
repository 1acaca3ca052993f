import type { Producer } from '../producer/producer.js';
import type { Db, Sql } from '../store/db.js';
import { quoteIdentifier } from '../store/identifier.js';
import { seededRandom } from '../util/random.js';
import { sleep } from '../util/wakeup.js';
import {
  customerEvents,
  type AddressChanged,
  type CustomerRegistered,
  type CustomerState,
} from './estate.js';

const firstNames = [
  'Ada',
  'Bram',
  'Chloe',
  'Dev',
  'Elif',
  'Farah',
  'Gus',
  'Hana',
  'Ivo',
  'Jun',
  'Kira',
  'Liam',
];
const lastNames = ['Okafor', 'Lind', 'Moreau', 'Patel', 'Quinn', 'Rossi', 'Sato', 'Tran', 'Ueda', 'Vidal'];
const streets = [
  'Harbour Road',
  'Mill Lane',
  'Station Street',
  'Kirkgate',
  'Quay Side',
  'Elm Row',
  'Castle Wynd',
];
const towns = ['Leith', 'York', 'Bristol', 'Durham', 'Norwich', 'Bath', 'Perth'];

/** Called in each business transaction with the customer's new state (the authority's digests). */
export type RecordState = (tx: Sql, id: string, version: number, state: CustomerState) => Promise<void>;

export interface ScenarioSize {
  readonly customers: number;
  readonly addressChanges: number;
  readonly seed: number;
  /** Pause between independent changes, so the run resembles traffic rather than a bulk load. */
  readonly pauseMs?: number;
}

/**
 * Customer Profile's business: register customers, then change addresses. Each change is one
 * business transaction that updates the customer row and appends the change, described both
 * as a domain event (for Communications) and as the new state (for Billing).
 */
export async function runProfileBusiness(
  db: Db,
  schema: string,
  producer: Producer,
  size: ScenarioSize,
  onChange?: () => void,
  recordState: RecordState = () => Promise.resolve(),
): Promise<number> {
  const p = quoteIdentifier(schema);
  const random = seededRandom(size.seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const address = () => `${1 + Math.floor(random() * 120)} ${pick(streets)}, ${pick(towns)}`;
  const ids = Array.from({ length: size.customers }, (_, i) => `cust-${String(i + 1).padStart(4, '0')}`);
  let changes = 0;

  for (const id of ids) {
    const registered: CustomerRegistered = {
      name: `${pick(firstNames)} ${pick(lastNames)}`,
      address: address(),
    };
    await db.transaction(async (tx) => {
      const { version } = await producer.append<unknown>(tx, { type: 'customer', id }, [
        { kind: 'domain', type: customerEvents.registered, data: registered },
        { kind: 'state', data: registered satisfies CustomerState },
        { kind: 'notice' },
      ]);
      await tx.query(`INSERT INTO ${p}.customers (id, name, address, version) VALUES ($1, $2, $3, $4)`, [
        id,
        registered.name,
        registered.address,
        version,
      ]);
      await recordState(tx, id, version, registered);
    });
    changes++;
    onChange?.();
  }

  let id = ids[0]!;
  for (let i = 0; i < size.addressChanges; i++) {
    // Some changes are quick corrections of the previous one, so several versions of one
    // customer travel close together; otherwise a customer is drawn, busy ones more often.
    const correction = i > 0 && random() < 0.25;
    if (!correction) {
      id = ids[Math.floor(random() ** 2 * ids.length)]!;
      if (size.pauseMs) await sleep(size.pauseMs);
    }
    const next = address();
    await db.transaction(async (tx) => {
      const current = await tx.query<{ name: string; address: string; version: number }>(
        `SELECT name, address, version FROM ${p}.customers WHERE id = $1 FOR UPDATE`,
        [id],
      );
      const row = current.rows[0]!;
      const change: AddressChanged = { address: next, previous: row.address };
      const { version } = await producer.append<unknown>(
        tx,
        { type: 'customer', id },
        [
          { kind: 'domain', type: customerEvents.addressChanged, data: change },
          { kind: 'state', data: { name: row.name, address: next } satisfies CustomerState },
          { kind: 'notice' },
        ],
        { expectedVersion: Number(row.version) },
      );
      await tx.query(
        `UPDATE ${p}.customers SET address = $2, version = $3, updated_at = now() WHERE id = $1`,
        [id, next, version],
      );
      await recordState(tx, id, version, { name: row.name, address: next });
    });
    changes++;
    onChange?.();
  }
  return changes;
}
