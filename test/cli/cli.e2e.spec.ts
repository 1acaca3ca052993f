import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

async function tidemark(...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', main, ...args], {
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('tidemark CLI', () => {
  it('demo --json prints one JSON object with events, per-context figures and a computed convergence', async () => {
    const result = await tidemark('demo', '--json', '--customers', '5', '--changes', '15', '--seed', '11');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as {
      events: number;
      converged: boolean;
      contexts: Record<string, { applied: number; maxLagMs: number }>;
    };
    expect(report.events).toBe(40);
    expect(report.converged).toBe(true);
    expect(Object.keys(report.contexts).sort()).toEqual(['billing', 'communications']);
    expect(report.contexts.communications!.applied).toBe(20);
    expect(report.contexts.billing!.maxLagMs).toBeGreaterThanOrEqual(0);
  });

  it('names a bad option value and how to fix it, without a stack trace', async () => {
    const result = await tidemark('demo', '--customers', 'lots');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(
      /--customers needs a whole number of at least 1, e\.g\. --customers 10 \(got "lots"\)/,
    );
    expect(result.stderr).not.toMatch(/at .*\.ts:\d+/);
  });

  it('names an unknown command', async () => {
    const result = await tidemark('demoo');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/unknown command 'demoo'/);
  });
});
