export { createServer, type ControlPlane, type ServerOptions } from './server.js';
export { hashToken, parseTokenSpec, type Principal, type Role, type TokenConfig } from './auth.js';
export type { ConsumerStore } from './stores.js';
export type { GroupLagReader, LagSample, RelayView } from './progress.js';
export type { FieldAllowLists } from './redact.js';
export type { ConsumerDiagnosis, RunningConsumer } from './consumer-progress.js';
