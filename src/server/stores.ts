import { createDeadLetterAdmin, type DeadLetterAdmin } from '../dlq/index.js';
import type { Envelope } from '../envelope/types.js';
import { TidemarkError } from '../errors.js';
import { operationRequests, type OperationRequests } from '../operations/index.js';
import type { Db } from '../store/db.js';
import { quoteIdentifier } from '../store/identifier.js';

/** Where one consumer keeps its dead letters and operation requests (its own database and schema). */
export interface ConsumerStore {
  readonly name: string;
  /** Default: the server's `db`. */
  readonly db?: Db;
  /** Default: the server's `schema`. */
  readonly schema?: string;
}

export interface ConsumerHandle {
  readonly name: string;
  readonly db: Db;
  readonly schema: string;
  readonly quotedSchema: string;
  readonly deadLetters: DeadLetterAdmin;
  readonly operations: OperationRequests;
}

export interface ConsumerDirectory {
  readonly names: readonly string[];
  get(name: string): ConsumerHandle;
  all(): readonly ConsumerHandle[];
}

export function consumerDirectory(
  stores: readonly ConsumerStore[],
  defaults: { db: Db; schema: string },
  validate?: (envelope: Envelope) => void,
): ConsumerDirectory {
  const handles = new Map<string, ConsumerHandle>();
  for (const store of stores) {
    if (typeof store?.name !== 'string' || store.name === '' || handles.has(store.name)) {
      throw new TidemarkError(
        'TM_INVALID_ARGUMENT',
        `consumers: each needs a distinct non-empty name, got ${JSON.stringify(store?.name)}`,
      );
    }
    const db = store.db ?? defaults.db;
    const schema = store.schema ?? defaults.schema;
    handles.set(store.name, {
      name: store.name,
      db,
      schema,
      quotedSchema: quoteIdentifier(schema, `consumers[${store.name}].schema`),
      deadLetters: createDeadLetterAdmin({ db, schema, ...(validate ? { validate } : {}) }),
      operations: operationRequests(db, schema),
    });
  }
  const names = Object.freeze([...handles.keys()]);
  return {
    names,
    get(name) {
      const handle = handles.get(name);
      if (!handle) {
        throw new TidemarkError(
          'TM_UNKNOWN_CONSUMER',
          `this control plane serves no consumer named '${name.slice(0, 100)}'; it serves: ${names.join(', ') || 'none'}`,
          { context: { consumer: name.slice(0, 100), known: names } },
        );
      }
      return handle;
    },
    all: () => [...handles.values()],
  };
}
