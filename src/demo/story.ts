import type { Consumer } from '../consumer/types.js';
import { createLedger } from '../ledger/ledger.js';
import type { ContextProgress, EntityStatus, Readiness } from '../ledger/types.js';
import type { Producer } from '../producer/producer.js';
import type { Db } from '../store/db.js';
import { quoteIdentifier } from '../store/identifier.js';
import type { Topology } from '../topology/model.js';
import { sleep } from '../util/wakeup.js';
import {
  customerEvents,
  type CustomerRegistered,
  type CustomerState,
  type RiskAddressChanged,
} from './estate.js';
import type { RecordState } from './scenario.js';

export interface StoryStep {
  readonly title: string;
  readonly at: string;
  /** What `tidemark status` answers at this point. */
  readonly summary: string;
  readonly contexts: readonly ContextProgress[];
}

export interface StoryOptions {
  readonly db: Db;
  readonly schemas: { readonly profile: string; readonly claims: string };
  readonly producer: Producer;
  readonly topology: Topology;
  readonly consumers: { readonly policy: Consumer; readonly claims: Consumer };
  readonly deadline: number;
  readonly onStep?: (step: StoryStep) => void;
  /** Records the authority's digests in each business transaction. */
  readonly recordState?: RecordState;
}

export const storyCustomer = 'cust-story';
const firstAddress = '12 Harbour Road, Leith';
const secondAddress = '3 Castle Wynd, Perth';

/**
 * One customer's address change, told the way a support agent would follow it: each step
 * changes something in the estate and then shows what the ledger says.
 */
export async function runStory(
  options: StoryOptions,
): Promise<{ steps: StoryStep[]; readiness: Readiness[] }> {
  const { db, producer, topology, consumers } = options;
  const p = quoteIdentifier(options.schemas.profile);
  const ledger = createLedger({ db, schema: options.schemas.profile, topology });
  const steps: StoryStep[] = [];
  const recordState = options.recordState ?? (() => Promise.resolve());

  const until = async (done: (status: EntityStatus) => boolean): Promise<EntityStatus> => {
    for (;;) {
      const status = await ledger.status('customer', storyCustomer).catch(() => undefined);
      if (status && done(status)) return status;
      if (Date.now() > options.deadline) {
        throw new Error(`the demo story did not progress in time; last status: ${status?.summary ?? 'none'}`);
      }
      await sleep(50);
    }
  };
  const latest = (status: EntityStatus) => status.versions.find((v) => v.version === status.latestVersion)!;
  const tell = (title: string, status: EntityStatus) => {
    const step = {
      title,
      at: new Date().toISOString(),
      summary: status.summary,
      contexts: latest(status).contexts,
    };
    steps.push(step);
    options.onStep?.(step);
  };

  const registered: CustomerRegistered = { name: 'Ada Okafor', address: firstAddress };
  await db.transaction(async (tx) => {
    const { version } = await producer.append<unknown>(tx, { type: 'customer', id: storyCustomer }, [
      { kind: 'domain', type: customerEvents.registered, data: registered },
      { kind: 'state', data: registered satisfies CustomerState },
      { kind: 'notice' },
    ]);
    await tx.query(`INSERT INTO ${p}.customers (id, name, address, version) VALUES ($1, $2, $3, $4)`, [
      storyCustomer,
      registered.name,
      registered.address,
      version,
    ]);
    await recordState(tx, storyCustomer, version, registered);
  });
  tell(
    `${registered.name} registers at ${firstAddress}`,
    await until((s) => latest(s).contexts.every((c) => c.stage === 'applied')),
  );

  await db.query(
    `INSERT INTO ${quoteIdentifier(options.schemas.claims)}.investigations (customer_id) VALUES ($1)`,
    [storyCustomer],
  );
  const move: RiskAddressChanged = {
    address: secondAddress,
    previous: firstAddress,
    reason: 'the insured home moved to another town',
  };
  await db.transaction(async (tx) => {
    const { version } = await producer.append<unknown>(
      tx,
      { type: 'customer', id: storyCustomer },
      [
        { kind: 'domain', type: customerEvents.riskAddressChanged, data: move },
        { kind: 'state', data: { name: registered.name, address: secondAddress } satisfies CustomerState },
        { kind: 'notice' },
      ],
      { expectedVersion: 1 },
    );
    await tx.query(`UPDATE ${p}.customers SET address = $2, version = $3, updated_at = now() WHERE id = $1`, [
      storyCustomer,
      secondAddress,
      version,
    ]);
    await recordState(tx, storyCustomer, version, { name: registered.name, address: secondAddress });
  });
  tell(
    `Claims opens an investigation; then ${registered.name} moves to ${secondAddress}, and the insured risk with her`,
    await until(
      (s) =>
        s.latestVersion === 2 && latest(s).contexts.every((c) => !['pending', 'delivered'].includes(c.stage)),
    ),
  );

  await db.transaction((tx) =>
    consumers.policy.recordStage(tx, {
      entityType: 'customer',
      entityId: storyCustomer,
      version: 2,
      stage: 'applied',
      detail: { reason: 'underwriting approved the new risk address' },
    }),
  );
  tell('Underwriting approves the new risk address', await ledger.status('customer', storyCustomer));

  await db.transaction(async (tx) => {
    await tx.query(
      `DELETE FROM ${quoteIdentifier(options.schemas.claims)}.investigations WHERE customer_id = $1`,
      [storyCustomer],
    );
    await consumers.claims.recordStage(tx, {
      entityType: 'customer',
      entityId: storyCustomer,
      version: 2,
      stage: 'applied',
      detail: { reason: 'investigation closed' },
    });
  });
  const final = await ledger.status('customer', storyCustomer);
  tell('Claims closes the investigation', final);
  return { steps, readiness: [...final.decisions] };
}

/** One more step of the narrated customer's story, told from the ledger as it stands now. */
export async function tellStoryStep(
  options: Pick<StoryOptions, 'db' | 'schemas' | 'topology' | 'onStep'>,
  title: string,
): Promise<{ step: StoryStep; readiness: Readiness[] }> {
  const ledger = createLedger({
    db: options.db,
    schema: options.schemas.profile,
    topology: options.topology,
  });
  const status = await ledger.status('customer', storyCustomer);
  const latest = status.versions.find((v) => v.version === status.latestVersion)!;
  const step = { title, at: new Date().toISOString(), summary: status.summary, contexts: latest.contexts };
  options.onStep?.(step);
  return { step, readiness: [...status.decisions] };
}
