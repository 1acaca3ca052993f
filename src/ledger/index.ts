export { createLedger } from './ledger.js';
export type { Ledger, LedgerOptions } from './ledger.js';
export { recordStages } from './record.js';
export { localLedgerSink, reportingLedgerSink, stageOf, stageReportEvent, stageReportType } from './sink.js';
export type { LedgerSink, StageReport } from './sink.js';
export { createLedgerCollector } from './collector.js';
export { ledgerStages, stageRank, isLedgerStage, waitingStages } from './stages.js';
export type { LedgerStage, StageRecord, WaitingStage } from './stages.js';
export { nextOccurrence } from './calendar.js';
export type * from './types.js';
export {
  createLedgerWaiter,
  defaultMaxWaitMs,
  type LedgerWaiter,
  type LedgerWaiterOptions,
  type MissingContext,
  type WaitOutcome,
  type WaitTarget,
} from './wait.js';
