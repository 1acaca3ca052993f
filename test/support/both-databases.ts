import { embeddedDb, postgresAvailable, serverDb, type TestDb } from './services.js';

export interface DatabaseKind {
  readonly name: string;
  readonly open: () => Promise<TestDb>;
  /** False for PGlite: one connection, transactions never overlap. */
  readonly concurrent: boolean;
}

/** The two Db implementations a store-level test should pass on (server PostgreSQL only when reachable). */
export async function databaseKinds(): Promise<DatabaseKind[]> {
  const kinds: DatabaseKind[] = [{ name: 'PGlite', open: embeddedDb, concurrent: false }];
  if (await postgresAvailable()) kinds.push({ name: 'server PostgreSQL', open: serverDb, concurrent: true });
  return kinds;
}
