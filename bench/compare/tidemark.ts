import { createConsumer } from '../../src/consumer/index.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { createRelay } from '../../src/relay/index.js';
import type { Db } from '../../src/store/db.js';
import { sleep } from '../../src/util/wakeup.js';
import type { BackboneKind } from '../backbone/kinds.js';
import { businessUpdate, effectInsert, projectionUpsert, type Contender } from './contender.js';

const PARTITIONS = 12;

/**
 * Tidemark as documented: producer.append in the business transaction, a relay woken by
 * NOTIFY, a consumer with its inbox; only the backbone differs between the two entries.
 * The schema is already migrated (the harness asks for a Tidemark schema).
 */
export function tidemarkContender(kind: BackboneKind): Contender {
  return {
    key: `tidemark-${kind.key}`,
    label: `Tidemark over ${kind.key}`,
    async start(env) {
      const { schema } = env;
      const pools: Db[] = [];
      const connect = async (max: number, role: string) => {
        const db = await env.connect(max, role);
        pools.push(db);
        return db;
      };
      const backbones = kind.create(schema, PARTITIONS, ['bench-projection']);
      const producerDb = await connect(env.clients, 'tm-producer');
      const relayDb = await connect(3, 'tm-relay');
      const consumerDb = await connect(10, 'tm-consumer');
      await registerAuthority(producerDb, { entityType: 'account', context: 'bench' }, schema);
      const producer = createProducer({ context: 'bench', schema });
      const relay = createRelay({
        db: relayDb,
        backbone: await backbones.open(relayDb),
        schema,
        batchSize: 1_000,
      });
      const upsert = projectionUpsert(schema);
      const effect = effectInsert(schema);
      const consumer = createConsumer({
        name: 'bench-projection',
        db: consumerDb,
        backbone: await backbones.open(consumerDb),
        schema,
        handlers: {
          account: {
            async apply(tx, event) {
              const data = event.data as { payload: string };
              await tx.query(upsert, [event.id, event.entityid, data.payload]);
              await tx.query(effect, [event.id, event.entityid]);
            },
          },
        },
      });
      relay.start();
      await consumer.start();
      await sleep(300); // the relay's LISTEN is set up in the background
      const update = businessUpdate(schema);
      return {
        async transact(key, payload) {
          const { eventId } = await producerDb.transaction(async (tx) => {
            await tx.query(update, [key, payload]);
            return producer.append(tx, { type: 'account', id: key }, { kind: 'state', data: { payload } });
          });
          return eventId;
        },
        async stop() {
          await consumer.stop();
          await relay.stop();
          await backbones.dispose();
          for (const db of pools) await db.close();
        },
      };
    },
  };
}
