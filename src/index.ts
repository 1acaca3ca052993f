/**
 * Tidemark's public surface. Adapters with their own drivers live under subpath exports:
 * `tidemark/pglite` (embedded PostgreSQL) and `tidemark/pg` (server PostgreSQL).
 */
export * from './errors.js';
export * from './envelope/index.js';
export * from './store/index.js';
export * from './producer/index.js';
export * from './relay/index.js';
export * from './backbone/index.js';
export * from './consumer/index.js';
export * from './dlq/index.js';
export * from './replay/index.js';
export * from './operations/index.js';
export * from './obs/index.js';
export * from './pull/index.js';
export * from './schema/index.js';
export * from './topology/index.js';
export * from './reconcile/index.js';
export * from './ledger/index.js';
