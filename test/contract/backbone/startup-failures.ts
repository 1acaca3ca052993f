import { createServer } from 'node:net';
import { isTidemarkError, type TidemarkError } from '../../../src/errors.js';

/** A port nothing listens on: bound by the OS, then released. */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** The TidemarkError `promise` rejects with; anything else (or no rejection) fails the test. */
export async function rejection(promise: Promise<unknown>): Promise<TidemarkError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isTidemarkError(error)) throw new Error(`expected a TidemarkError, got ${String(error)}`);
  return error;
}
