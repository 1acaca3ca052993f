export type { Db, Sql, QueryResult, DbCapabilities, Unlisten } from './db.js';
export { quoteIdentifier } from './identifier.js';
export { migrate, type MigrateResult } from './migrate.js';
export { migrations, type Migration } from './migrations/index.js';
