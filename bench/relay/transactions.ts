import type { Sql } from '../../src/store/db.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import type { Target } from '../lib/targets.js';
import { progress } from '../lib/log.js';
import { round } from '../lib/stats.js';
import { createBusinessTables, depositData, runClosedLoop } from '../lib/business.js';
import type { RelaySettings } from './settings.js';

type VariantName = 'bare' | 'handWritten' | 'tidemark' | 'tidemarkCallerVersioned';

export interface TransactionFigures {
  readonly clients: number;
  readonly measuredSecondsPerVariant: number;
  readonly tps: Readonly<Record<VariantName, number>>;
  /** Extra time per transaction, in % of the reference: (tps_ref / tps_variant − 1) × 100. */
  readonly overheadPct: {
    readonly handWrittenVsBare: number;
    readonly tidemarkVsBare: number;
    readonly tidemarkVsHandWritten: number;
    readonly callerVersionedVsHandWritten: number;
  };
}

const ACCOUNTS = 10_000;

interface Variant {
  /**
   * Caller-versioned appends need versions that grow by exactly one per change, so that
   * variant owns rows no other variant updates.
   */
  readonly firstId: number;
  run(tx: Sql, id: number): Promise<unknown>;
}

/**
 * (i) What the outbox costs a business transaction. Every variant runs the same
 * BEGIN / UPDATE / COMMIT through the same Db; they differ only in the extra statement,
 * so the difference between them is the outbox write and nothing else.
 */
export async function measureTransactions(
  target: Target,
  settings: RelaySettings,
): Promise<TransactionFigures> {
  const { schema, drop } = await target.freshSchema('tx');
  const db = await target.connect(settings.clients, 'business');
  try {
    const s = `"${schema}"`;
    // Caller-versioned appends own the second half of the rows (see Variant.firstId).
    const business = await createBusinessTables(db, s, 2 * ACCOUNTS);
    await registerAuthority(db, { entityType: 'account', context: 'ledger' }, schema);
    // One versioning mode per entity type, as the producer asks.
    await registerAuthority(db, { entityType: 'versioned_account', context: 'ledger' }, schema);
    const producer = createProducer({ context: 'ledger', schema });

    const { update } = business;
    const variants: Record<VariantName, Variant> = {
      bare: { firstId: 1, run: update },
      handWritten: {
        firstId: 1,
        async run(tx, id) {
          await update(tx, id);
          await business.handWrittenInsert(tx, id);
        },
      },
      tidemark: {
        firstId: 1,
        async run(tx, id) {
          await update(tx, id);
          await producer.append(
            tx,
            { type: 'account', id: String(id) },
            { kind: 'state', data: depositData(id) },
          );
        },
      },
      tidemarkCallerVersioned: {
        firstId: ACCOUNTS + 1,
        async run(tx, id) {
          const version = await update(tx, id);
          await producer.append(
            tx,
            { type: 'versioned_account', id: String(id) },
            { kind: 'state', data: depositData(id) },
            { version },
          );
        },
      },
    };
    const names = Object.keys(variants) as VariantName[];

    const run = (variant: Variant, seconds: number) =>
      runClosedLoop(
        db,
        settings.clients,
        seconds,
        () => variant.firstId + Math.floor(Math.random() * ACCOUNTS),
        variant.run,
      );
    for (const name of names) await run(variants[name], settings.warmupSeconds);
    const totals = Object.fromEntries(names.map((n) => [n, { count: 0, ms: 0 }])) as Record<
      VariantName,
      { count: number; ms: number }
    >;
    const slice = settings.txSeconds / settings.txRounds;
    for (let pass = 0; pass < settings.txRounds; pass++) {
      // Rotating the order keeps any one variant from always following the heaviest writer.
      for (let k = 0; k < names.length; k++) {
        const name = names[(pass + k) % names.length]!;
        const r = await run(variants[name], slice);
        totals[name].count += r.count;
        totals[name].ms += r.ms;
      }
      progress(`  transactions round ${pass + 1}/${settings.txRounds} done`);
    }
    const tps = Object.fromEntries(names.map((n) => [n, (totals[n].count / totals[n].ms) * 1000])) as Record<
      VariantName,
      number
    >;
    const overhead = (reference: number, variant: number) => round((reference / variant - 1) * 100);
    return {
      clients: settings.clients,
      measuredSecondsPerVariant: settings.txSeconds,
      tps: Object.fromEntries(names.map((n) => [n, round(tps[n], 0)])) as Record<VariantName, number>,
      overheadPct: {
        handWrittenVsBare: overhead(tps.bare, tps.handWritten),
        tidemarkVsBare: overhead(tps.bare, tps.tidemark),
        tidemarkVsHandWritten: overhead(tps.handWritten, tps.tidemark),
        callerVersionedVsHandWritten: overhead(tps.handWritten, tps.tidemarkCallerVersioned),
      },
    };
  } finally {
    await db.close();
    await drop();
  }
}
