import { randomUUID } from 'node:crypto';
import { sleep } from '../../src/util/wakeup.js';
import { businessUpdate, effectInsert, projectionUpsert, type Contender } from './contender.js';
import { loadPeer } from './peers.js';

/** The structural subset of @event-driven-io/emmett(-postgresql) 0.42 this harness uses. */
interface PgClient {
  query(text: string, values?: unknown[]): Promise<unknown>;
}
interface HandlerContext {
  connection: { client: PgClient };
}
interface RecordedEvent {
  type: string;
  data: { key: string; payload: string };
  metadata: { messageId: string };
}
interface Processor {
  readonly id: string;
}
interface EmmettConsumer {
  reactor(options: {
    processorId: string;
    startFrom: 'BEGINNING';
    eachMessage: (event: RecordedEvent, context: HandlerContext) => Promise<void>;
  }): Processor;
  start(): Promise<void>;
  stop(): Promise<void>;
  close(): Promise<void>;
}
interface EventStore {
  appendToStream(
    stream: string,
    events: { type: string; data: unknown; metadata?: { messageId: string } }[],
  ): Promise<unknown>;
  consumer(options: { pulling: { batchSize: number; pullingFrequencyInMs: number } }): EmmettConsumer;
  schema: { migrate(): Promise<unknown> };
  close(): Promise<void>;
}
interface EmmettPostgres {
  getPostgreSQLEventStore(connectionString: string, options: unknown): EventStore;
  postgreSQLProjection(definition: {
    name: string;
    canHandle: string[];
    handle: (events: RecordedEvent[], context: HandlerContext) => Promise<void>;
  }): unknown;
}
interface Emmett {
  projections: { inline(definitions: unknown[]): unknown };
}

/** Its tables are unqualified, so each run points search_path at its own schema. */
function withSearchPath(connectionString: string, schema: string): string {
  const url = new URL(connectionString);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

/**
 * Emmett's PostgreSQL event store: the business UPDATE runs as an inline projection, which
 * Emmett executes inside the append's transaction (its documented way to change state
 * atomically with the events); the downstream projection is a reactor of its pulling consumer,
 * which stores its checkpoint in the same transaction as the handler's writes.
 */
export const emmettContender: Contender = {
  key: 'emmett',
  label: 'Emmett 0.42 (emmett-postgresql)',
  async start(env) {
    const { getPostgreSQLEventStore, postgreSQLProjection } = loadPeer<EmmettPostgres>(
      '@event-driven-io/emmett-postgresql',
    );
    const { projections } = loadPeer<Emmett>('@event-driven-io/emmett');
    const update = businessUpdate(env.schema);
    const upsert = projectionUpsert(env.schema);
    const effect = effectInsert(env.schema);
    const business = postgreSQLProjection({
      name: 'bench_business',
      canHandle: ['AccountChanged'],
      async handle(events, context) {
        for (const e of events) await context.connection.client.query(update, [e.data.key, e.data.payload]);
      },
    });
    const store = getPostgreSQLEventStore(withSearchPath(env.connectionString, env.schema), {
      projections: projections.inline([business]),
    });
    await store.schema.migrate();
    const consumer = store.consumer({ pulling: { batchSize: 100, pullingFrequencyInMs: 50 } });
    consumer.reactor({
      processorId: 'bench-projection',
      startFrom: 'BEGINNING',
      async eachMessage(event, context) {
        const id = event.metadata.messageId;
        await context.connection.client.query(upsert, [id, event.data.key, event.data.payload]);
        await context.connection.client.query(effect, [id, event.data.key]);
      },
    });
    let failure: unknown;
    const running = consumer.start().catch((error: unknown) => {
      failure = error;
    });
    await sleep(300);
    return {
      async transact(key, payload) {
        if (failure) throw failure;
        const messageId = randomUUID();
        await store.appendToStream(`account-${key}`, [
          { type: 'AccountChanged', data: { key, payload }, metadata: { messageId } },
        ]);
        return messageId;
      },
      async stop() {
        await consumer.stop();
        await running;
        await consumer.close();
        await store.close();
        if (failure) throw failure;
      },
    };
  },
};
