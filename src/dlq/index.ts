export { createDeadLetterAdmin } from './admin.js';
export type {
  DeadLetter,
  DeadLetterDetail,
  DeadLetterStatus,
  DeadLetterFilter,
  DeadLetterCounts,
  DeadLetterAdmin,
  DeadLetterAdminOptions,
  OperatorAction,
} from './admin.js';
export type { AuditEntry, AuditRecord } from './audit.js';
export { dlqChannel } from './sql.js';
