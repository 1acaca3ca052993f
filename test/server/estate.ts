import { createPostgresLog, type PostgresLogBackbone } from '../../src/backbone/index.js';
import { createConsumer, type Consumer } from '../../src/consumer/index.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { createRelay, type Relay } from '../../src/relay/index.js';
import {
  createServer,
  hashToken,
  type ControlPlane,
  type ServerOptions,
  type TokenConfig,
} from '../../src/server/index.js';
import { parseTopology, starterTopology, type Topology } from '../../src/topology/index.js';
import { embeddedDb, type TestDb } from '../support/services.js';

export const operatorToken = 'op-secret-token-1';
export const viewerToken = 'viewer-secret-token-2';
export const tokens: TokenConfig[] = [
  { name: 'olga', role: 'operator', sha256: hashToken(operatorToken) },
  { name: 'vic', role: 'viewer', sha256: hashToken(viewerToken) },
];
export const asOperator = { authorization: `Bearer ${operatorToken}` };
export const asViewer = { authorization: `Bearer ${viewerToken}` };

export function demoTopology(): Topology {
  const parsed = parseTopology(starterTopology);
  if (!parsed.valid) throw new Error('the starter topology does not parse');
  return parsed.topology;
}

export interface Estate {
  readonly t: TestDb;
  readonly topology: Topology;
  readonly backbone: PostgresLogBackbone;
  /** Customer Profile changes a customer's address (the authority's append). */
  change(id: string, address: string): Promise<void>;
  /** Billing's handler fails on the address 'POISON' until healed. */
  heal(): void;
  stop(): Promise<void>;
}

/**
 * A small insurer in one PGlite schema: Customer Profile appends, a relay publishes to the
 * postgres-log backbone, Billing and Communications consume (recording ledger stages in the
 * same schema). Billing dead-letters the address 'POISON', parking the key behind it.
 */
export async function startEstate(): Promise<Estate> {
  const t = await embeddedDb();
  const topology = demoTopology();
  await registerAuthority(t.db, { entityType: 'customer', context: 'customer-profile' }, t.schema);
  const backbone = await createPostgresLog({
    db: t.db,
    schema: t.schema,
    partitions: 4,
    timing: { heartbeatMs: 200, pollMs: 20, retryBaseMs: 5, retryMaxMs: 20 },
  });
  const relay: Relay = createRelay({ db: t.db, backbone, schema: t.schema, pollMs: 20 });
  let healed = false;
  const consumers: Consumer[] = ['billing', 'communications'].map((name) =>
    createConsumer({
      name,
      db: t.db,
      backbone,
      schema: t.schema,
      retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 5 },
      repairIntervalMs: 50,
      handlers: {
        customer: {
          async apply(_tx, event) {
            const address = (event.data as { address?: string } | undefined)?.address;
            if (name === 'billing' && address === 'POISON' && !healed) {
              throw new Error(`billing cannot parse the address of ${event.entityid}`);
            }
          },
        },
      },
    }),
  );
  relay.start();
  for (const consumer of consumers) await consumer.start();
  const producer = createProducer({ context: 'customer-profile', schema: t.schema });
  return {
    t,
    topology,
    backbone,
    async change(id, address) {
      await t.db.transaction((tx) =>
        producer.append(
          tx,
          { type: 'customer', id },
          { kind: 'domain', type: 'CustomerAddressChanged', data: { address } },
        ),
      );
    },
    heal() {
      healed = true;
    },
    async stop() {
      for (const consumer of consumers) await consumer.stop();
      await relay.stop();
      await backbone.close();
      await t.cleanup();
    },
  };
}

/** The control plane over `estate`: its database, schema and topology, with these tokens. */
export function estateServer(
  estate: Estate,
  options: Omit<ServerOptions, 'db' | 'schema' | 'topology' | 'tokens'> = {},
): Promise<ControlPlane> {
  return createServer({
    db: estate.t.db,
    schema: estate.t.schema,
    topology: estate.topology,
    tokens,
    ...options,
  });
}
