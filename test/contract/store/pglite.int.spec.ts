import { storeContract } from '../../../src/testing/store-contract.js';
import { embeddedDb } from '../../support/services.js';

storeContract('PGlite (embedded)', embeddedDb);
