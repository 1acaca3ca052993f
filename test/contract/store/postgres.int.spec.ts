import { describe } from 'vitest';
import { storeContract } from '../../../src/testing/store-contract.js';
import { postgresAvailable, serverDb } from '../../support/services.js';

const available = await postgresAvailable();

describe.runIf(available)('server PostgreSQL', () => {
  storeContract('server PostgreSQL (pg)', serverDb);
});
