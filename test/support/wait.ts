/** Polls `probe` until it returns `expected` (for hooks, where expect.poll is not available). */
export async function waitUntil<T>(
  probe: () => Promise<T>,
  expected: T,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await probe();
    if (last === expected) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}: last saw ${String(last)}, wanted ${String(expected)}`,
  );
}
