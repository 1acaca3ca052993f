export { createCapture } from './capture.js';
export type { Capture, CaptureOptions, CaptureStatus } from './capture.js';
export type {
  CaptureNotice,
  Row,
  RowChange,
  TranslatedEvent,
  TranslationResult,
  Translator,
} from './types.js';
export { createSourcePrecedence, judgeFields, ownerOf } from './precedence.js';
export type {
  Conflict,
  FieldRule,
  FieldVerdict,
  PrecedenceDecision,
  PrecedenceRules,
  Source,
  SourcePrecedence,
} from './precedence.js';
export { deadLetterConsumer } from './sink.js';
export { inspectCapture, resetCapture } from './admin.js';
export type { CaptureAdminOptions, CaptureReport } from './admin.js';
export { createDebeziumIngest, parseDebeziumEvent } from './debezium.js';
export type { DebeziumIngest, DebeziumIngestOptions, DebeziumIngestOutcome } from './debezium.js';
export { debeziumHttp } from './debezium-http.js';
export type { DebeziumHttpOptions } from './debezium-http.js';
