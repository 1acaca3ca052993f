const started = performance.now();

/**
 * Progress goes to stderr so that `--json` leaves stdout to the one JSON object.
 * Each line carries the seconds since start: it shows where a slow run spends its time.
 */
export function progress(message: string): void {
  const seconds = ((performance.now() - started) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[${seconds}s] ${message}\n`);
}
