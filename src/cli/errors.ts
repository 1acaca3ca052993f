import { isTidemarkError } from '../errors.js';

/**
 * Turns any failure into a message for a person (never a stack trace unless TIDEMARK_DEBUG=1)
 * or, with --json, one JSON object on stdout; returns the exit code.
 */
export function reportFailure(error: unknown, json: boolean): number {
  const debug = process.env.TIDEMARK_DEBUG === '1';
  const code = isTidemarkError(error) ? error.code : 'TM_UNEXPECTED';
  const message = error instanceof Error ? error.message : String(error);
  if (json) {
    process.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
  } else {
    process.stderr.write(`tidemark: ${message} [${code}]\n`);
    if (!isTidemarkError(error)) process.stderr.write('Set TIDEMARK_DEBUG=1 to see the stack trace.\n');
  }
  if (debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  return isTidemarkError(error) && error.status < 500 ? 2 : 1;
}
