/**
 * The SQL port. Tidemark needs only this structural subset of a driver, so the
 * core depends on no driver and can join a caller's transaction whatever client
 * opened it (pg, PGlite, or an adapter over a query builder).
 */
export interface QueryResult<Row> {
  readonly rows: Row[];
  /** Rows inserted, updated or deleted by the statement (0 for plain SELECT on some drivers). */
  readonly rowCount: number;
}

/** Something that runs one parameterised SQL statement: a connection or an open transaction. */
export interface Sql {
  query<Row = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<QueryResult<Row>>;
}

export interface DbCapabilities {
  /** False for PGlite: it has one connection, so transactions run one at a time. */
  readonly concurrentTransactions: boolean;
  /** PostgreSQL logical replication (needed by CDC); PGlite has none. */
  readonly logicalReplication: boolean;
}

export type Unlisten = () => Promise<void>;

/** A database Tidemark owns a connection (pool) to. */
export interface Db extends Sql {
  /** Human-readable description for logs and errors, never containing a password. */
  readonly description: string;
  readonly capabilities: DbCapabilities;
  /**
   * Runs `work` in one transaction: committed when it resolves, rolled back when it
   * rejects (the rejection is passed on).
   */
  transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T>;
  /** Subscribes to NOTIFY on `channel`; the callback gets the payload. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<Unlisten>;
  close(): Promise<void>;
}
