import { errorCodes, isTidemarkError, type ErrorCode, type TidemarkError } from '../errors.js';

/** Media type of every error answer of the read API (RFC 9457). */
export const problemMediaType = 'application/problem+json';

/**
 * An RFC 9457 problem document with Tidemark's `code` (and, for 4xx answers, the error's
 * `context`). Extension members such as `currentVersion` sit at the top level.
 */
export interface ProblemDocument {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: ErrorCode;
  readonly instance?: string;
  readonly context?: Readonly<Record<string, unknown>>;
  readonly [extension: string]: unknown;
}

/** The problem `type` URI of a code; `docs/errors.md` has a section of the same name. */
export const problemType = (code: ErrorCode): string => `urn:tidemark:error:${code}`;

/**
 * Builds the problem document for an error. A TidemarkError keeps its code, title, message and,
 * below 500, its context; `status` overrides the code's status when the transport said more
 * precisely what went wrong (e.g. 415 for a wrong content type). Anything else becomes
 * `TM_UNEXPECTED` with a detail that reveals nothing of the internals.
 */
export function problemOf(
  error: unknown,
  options: { instance?: string; status?: number; extensions?: Record<string, unknown> } = {},
): ProblemDocument {
  if (!isTidemarkError(error)) {
    return {
      type: problemType('TM_UNEXPECTED'),
      title: errorCodes.TM_UNEXPECTED.title,
      status: 500,
      detail: "internal error while reading the authority's data; see the authority's log",
      code: 'TM_UNEXPECTED',
      ...(options.instance === undefined ? {} : { instance: options.instance }),
    };
  }
  const status = options.status ?? error.status;
  return {
    type: problemType(error.code),
    title: errorCodes[error.code].title,
    status,
    detail: error.message,
    code: error.code,
    ...(options.instance === undefined ? {} : { instance: options.instance }),
    ...(status < 500 && Object.keys(error.context).length > 0 ? { context: error.context } : {}),
    ...options.extensions,
  };
}

/** Whether `error` is one the read API raises on purpose for a request (as opposed to a bug). */
export const isRequestError = (error: unknown): error is TidemarkError =>
  isTidemarkError(error) && error.status < 500;
