/**
 * `npm run bench -- append`: where the outbox append's cost over a hand-written INSERT goes,
 * step by step, each step adding one thing Tidemark does, side by side in one run.
 */
import { randomUUID } from 'node:crypto';
import { createEnvelope } from '../src/envelope/index.js';
import { outboxChannel } from '../src/producer/channel.js';
import { createProducer, registerAuthority } from '../src/producer/index.js';
import { appendStatements } from '../src/producer/sql.js';
import type { Sql } from '../src/store/db.js';
import type { BenchContext, Benchmark } from './lib/benchmark.js';
import { progress } from './lib/log.js';
import type { BenchReport, TableSection } from './lib/report.js';
import { round } from './lib/stats.js';
import type { Target } from './lib/targets.js';
import { createBusinessTables, depositData, runClosedLoop } from './lib/business.js';

const ACCOUNTS = 10_000;

interface Step {
  readonly key: string;
  readonly label: string;
  run(tx: Sql, id: number): Promise<unknown>;
}

interface StepFigures {
  readonly key: string;
  readonly label: string;
  readonly tps: number;
  /** Time per transaction added by this step over the previous one, microseconds of one client. */
  readonly addedMicros: number;
}

interface AppendFigures {
  readonly database: string;
  readonly clients: number;
  readonly secondsPerStep: number;
  readonly steps: readonly StepFigures[];
}

async function runOn(target: Target, quick: boolean): Promise<AppendFigures> {
  const clients = target.concurrent ? 4 : 1;
  const rounds = quick ? 1 : 5;
  const slice = quick ? 0.5 : 3;
  const { schema, drop } = await target.freshSchema('append');
  const db = await target.connect(clients, 'append-bench');
  try {
    const s = `"${schema}"`;
    const business = await createBusinessTables(db, s, ACCOUNTS);
    await registerAuthority(db, { entityType: 'account', context: 'ledger' }, schema);
    const producer = createProducer({ context: 'ledger', schema });
    const quiet = appendStatements(s, outboxChannel(schema), false);
    const notifying = appendStatements(s, outboxChannel(schema), true);
    // Tidemark's stored envelope for the account, built once: the steps below price the database
    // work; the last step adds the JavaScript that builds and checks an envelope per append.
    const { entityversion: _v, ...template } = createEnvelope({
      kind: 'state',
      authority: 'ledger',
      entityType: 'account',
      entityId: '1',
      entityVersion: 1,
      data: depositData(1),
    });
    const stored = (id: number) => {
      const eventId = randomUUID();
      return {
        eventId,
        json: JSON.stringify({ ...template, id: eventId, entityid: String(id), data: depositData(id) }),
      };
    };
    const update = business.update;
    let callerVersion = 0;
    const steps: Step[] = [
      { key: 'bare', label: 'bare UPDATE', run: update },
      {
        key: 'hand-written',
        label: '+ hand-written outbox INSERT (~200 B row, 1 index)',
        async run(tx, id) {
          await update(tx, id);
          await business.handWrittenInsert(tx, id);
        },
      },
      {
        key: 'outbox-row',
        label: "→ Tidemark's outbox row instead (envelope, its indexes), version given",
        async run(tx, id) {
          await update(tx, id);
          const e = stored(id);
          await tx.query(quiet.insertCallerVersioned, [
            'account',
            String(id),
            [e.eventId],
            [e.json],
            ++callerVersion,
          ]);
        },
      },
      {
        key: 'version-row',
        label: '+ Tidemark keeps the version (entity_versions upsert)',
        async run(tx, id) {
          await update(tx, id);
          const e = stored(id);
          await tx.query(quiet.upsertAnyVersion, ['account', String(id), [e.eventId], [e.json]]);
        },
      },
      {
        key: 'notify',
        label: '+ NOTIFY for the relay',
        async run(tx, id) {
          await update(tx, id);
          const e = stored(id);
          await tx.query(notifying.upsertAnyVersion, ['account', String(id), [e.eventId], [e.json]]);
        },
      },
      {
        key: 'producer',
        label: '= producer.append (+ envelope built and checked in JS)',
        async run(tx, id) {
          await update(tx, id);
          await producer.append(
            tx,
            { type: 'account', id: String(id) },
            { kind: 'state', data: depositData(id) },
          );
        },
      },
    ];
    const randomAccount = () => 1 + Math.floor(Math.random() * ACCOUNTS);
    const runStep = (step: Step, seconds: number) =>
      runClosedLoop(db, clients, seconds, randomAccount, step.run);
    for (const step of steps) await runStep(step, quick ? 0.2 : 1);
    const totals = new Map(steps.map((st) => [st.key, { count: 0, ms: 0 }]));
    for (let pass = 0; pass < rounds; pass++) {
      for (let k = 0; k < steps.length; k++) {
        const step = steps[(pass + k) % steps.length]!;
        const r = await runStep(step, slice);
        const total = totals.get(step.key)!;
        total.count += r.count;
        total.ms += r.ms;
      }
      progress(`${target.label}: round ${pass + 1}/${rounds}`);
    }
    const microsOf = new Map(
      steps.map((step) => {
        const { count, ms } = totals.get(step.key)!;
        return [step.key, (clients / ((count / ms) * 1000)) * 1e6];
      }),
    );
    // Each step is priced against the one before it; the outbox-row step against the hand-written
    // INSERT it replaces.
    const figures = steps.map((step, i) => {
      const micros = microsOf.get(step.key)!;
      const reference = i === 0 ? 0 : microsOf.get(steps[i - 1]!.key)!;
      return {
        key: step.key,
        label: step.label,
        tps: round((clients / micros) * 1e6, 0),
        addedMicros: round(micros - reference, 0),
      };
    });
    return { database: target.label, clients, secondsPerStep: rounds * slice, steps: figures };
  } finally {
    await db.close();
    await drop();
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function table(runs: readonly AppendFigures[]): TableSection[] {
  const tpsOf = (r: AppendFigures, key: string) => r.steps.find((x) => x.key === key)!.tps;
  return [
    {
      title: 'one business transaction: UPDATE one row + the step',
      rows: [
        { label: 'clients', cells: runs.map((r) => String(r.clients)) },
        ...runs[0]!.steps.map((step) => ({
          label: `${step.label}, tps (added µs/tx)`,
          cells: runs.map((r) => {
            const f = r.steps.find((x) => x.key === step.key)!;
            return `${fmt(f.tps)} (${f.addedMicros >= 0 ? '+' : ''}${fmt(f.addedMicros)})`;
          }),
        })),
        {
          label: 'producer.append vs hand-written (time/tx)',
          cells: runs.map(
            (r) => `+${((tpsOf(r, 'hand-written') / tpsOf(r, 'producer') - 1) * 100).toFixed(1)} %`,
          ),
        },
      ],
    },
  ];
}

export const appendBenchmark: Benchmark = {
  description: "where the outbox append's cost over a hand-written INSERT goes, step by step",
  async run(context: BenchContext): Promise<BenchReport> {
    const runs: AppendFigures[] = [];
    for (const target of context.targets) runs.push(await runOn(target, context.quick));
    return {
      name: 'append',
      title: 'Outbox append: where the cost over a hand-written INSERT goes',
      figures: runs,
      table: { columns: runs.map((r) => r.database), sections: table(runs) },
      targets: [],
      method: [
        'Each step is BEGIN; UPDATE one of 10,000 rows; [the step’s statement]; COMMIT through the same Db (4 clients on server PostgreSQL, 1 on PGlite). Steps take turns for 5 rounds of 3 s after a 1 s warm-up each; tps is over all rounds.',
        'The added µs/tx is the extra time of one client’s transaction over the step above it; the outbox-row step is measured against the hand-written INSERT (it replaces it). The envelope of the middle steps is built once and only its id changes, so they price the database work; the last step adds what producer.append does in JavaScript (envelope construction, validation, traceparent, ownership check).',
      ],
    };
  },
};
