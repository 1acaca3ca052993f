import { describe } from 'vitest';
import { createPostgresLog } from '../../../src/backbone/postgres-log/index.js';
import { openPostgres } from '../../../src/store/pg/index.js';
import { backboneContract, type BackboneContractFixture } from '../../../src/testing/backbone-contract.js';
import { embeddedDb, postgresAvailable, postgresUrl, serverDb, type TestDb } from '../../support/services.js';

// Short leases so takeover scenarios finish in a second or two instead of the default ten.
const timing = { leaseMs: 1_000, heartbeatMs: 200, pollMs: 50, retryBaseMs: 20, retryMaxMs: 200 };
const partitions = 8;

async function fixture(store: TestDb, crashable: boolean): Promise<BackboneContractFixture> {
  const backbone = await createPostgresLog({ db: store.db, schema: store.schema, partitions, timing });
  return {
    backbone,
    takeoverMs: timing.leaseMs + 3 * timing.heartbeatMs,
    // A second pool on the same schema; closing it cuts that instance off like a dead process.
    openCrashable: crashable
      ? async () => {
          const db = await openPostgres({ connectionString: postgresUrl, max: 4 });
          const other = await createPostgresLog({ db, schema: store.schema, partitions, timing });
          return { backbone: other, crash: () => db.close() };
        }
      : undefined,
    async dispose() {
      await backbone.close();
      await store.cleanup();
    },
  };
}

backboneContract('postgres-log on PGlite', async () => fixture(await embeddedDb(), false));

const available = await postgresAvailable();

describe.runIf(available)('server PostgreSQL', () => {
  backboneContract('postgres-log on server PostgreSQL', async () => fixture(await serverDb(), true));
});
