export { operationRequests, operationsChannel } from './requests.js';
export type { OperationRequest, OperationRequests, OperationKind, OperationStatus } from './requests.js';
