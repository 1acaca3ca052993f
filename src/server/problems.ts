import type { FastifyError } from 'fastify';
import { errorCodes, isTidemarkError, TidemarkError, type ErrorCode } from '../errors.js';
import { problemType, type ProblemDocument } from '../pull/problem.js';

export { problemMediaType } from '../pull/problem.js';

/** Fastify's own request errors, by code, as Tidemark codes. */
const fastifyCodes: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'TM_PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'TM_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'TM_REQUEST_INVALID',
  FST_ERR_CTP_INVALID_JSON_BODY: 'TM_REQUEST_INVALID',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'TM_REQUEST_INVALID',
};

const details: Partial<Record<ErrorCode, string>> = {
  TM_PAYLOAD_TOO_LARGE: 'the request body is larger than the server accepts; send a smaller body',
  TM_UNSUPPORTED_MEDIA_TYPE: 'send the body as JSON with the header "Content-Type: application/json"',
};

/** PostgreSQL data exceptions (SQLSTATE class 22) come from values the request carried. */
const isDataException = (error: unknown): boolean =>
  typeof error === 'object' &&
  error !== null &&
  typeof (error as { code?: unknown }).code === 'string' &&
  /^22[0-9A-Z]{3}$/.test((error as { code: string }).code);

/**
 * Turns anything a handler or Fastify threw into the TidemarkError the client is told about,
 * or `undefined` for a fault of the server (logged, answered as TM_UNEXPECTED).
 */
export function requestErrorOf(error: unknown): TidemarkError | undefined {
  if (isTidemarkError(error)) return error;
  const fe = error as Partial<FastifyError> & { validationContext?: string };
  if (fe && Array.isArray(fe.validation)) {
    return new TidemarkError(
      'TM_REQUEST_INVALID',
      `${fe.message ?? 'the request does not match the endpoint'}; see /openapi.json for the endpoint's schema`,
      { context: { in: fe.validationContext } },
    );
  }
  const mapped = typeof fe?.code === 'string' ? fastifyCodes[fe.code] : undefined;
  if (mapped) {
    const detail =
      details[mapped] ??
      (fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
        ? 'the body is empty but Content-Type says JSON; send a JSON object or no Content-Type'
        : `the body is not valid JSON (${String(fe.message).slice(0, 200)})`);
    return new TidemarkError(mapped, detail);
  }
  if (error instanceof SyntaxError) {
    return new TidemarkError(
      'TM_REQUEST_INVALID',
      `the body is not valid JSON (${error.message.slice(0, 200)})`,
    );
  }
  if (isDataException(error)) {
    return new TidemarkError(
      'TM_REQUEST_INVALID',
      `the database refused a value of the request: ${String((error as Error).message).slice(0, 200)}`,
    );
  }
  const status = typeof fe?.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    return new TidemarkError('TM_REQUEST_INVALID', String(fe.message ?? 'bad request').slice(0, 300));
  }
  return undefined;
}

export function problemFor(error: unknown, instance: string): ProblemDocument {
  const known = requestErrorOf(error);
  if (!known) {
    return {
      type: problemType('TM_UNEXPECTED'),
      title: errorCodes.TM_UNEXPECTED.title,
      status: 500,
      detail: 'internal error in the control plane; the server log has the details',
      code: 'TM_UNEXPECTED',
      instance,
    };
  }
  return {
    type: problemType(known.code),
    title: errorCodes[known.code].title,
    status: known.status,
    detail: known.message,
    code: known.code,
    instance,
    ...(known.status < 500 && Object.keys(known.context).length > 0 ? { context: known.context } : {}),
  };
}
