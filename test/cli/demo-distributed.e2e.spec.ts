import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { postgresAvailable, postgresUrl } from '../support/services.js';
import { natsAvailable, natsServers } from '../contract/backbone/nats-service.js';

const run = promisify(execFile);
const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const available = (await postgresAvailable()) && (await natsAvailable());

describe.runIf(available)('tidemark demo --distributed (server PostgreSQL + NATS JetStream)', () => {
  it('prints the same JSON report as the embedded demo and converges', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        main,
        'demo',
        '--distributed',
        '--postgres',
        postgresUrl,
        '--nats',
        natsServers,
        '--json',
        '--customers',
        '8',
        '--changes',
        '30',
      ],
      { timeout: 120_000 },
    );
    const report = JSON.parse(stdout) as {
      mode: string;
      backbone: string;
      events: number;
      converged: boolean;
      contexts: Record<string, { applied: number; matching: number; total: number }>;
    };
    expect(report).toMatchObject({
      mode: 'distributed',
      backbone: 'nats-jetstream',
      events: 120,
      converged: true,
    });
    expect(report.contexts.communications).toMatchObject({ strategy: 'notify-fetch', matching: 9, total: 9 });
    expect(report.contexts.billing).toMatchObject({ matching: 9, total: 9 });
  });

  it('names the NATS address and what to check when NATS is unreachable', async () => {
    const failure = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        main,
        'demo',
        '--distributed',
        '--postgres',
        postgresUrl,
        '--nats',
        '127.0.0.1:4999',
      ],
      { timeout: 60_000 },
    ).catch((e: { code: number; stderr: string }) => e);
    expect('code' in failure && failure.code).toBe(1);
    expect((failure as { stderr: string }).stderr).toMatch(
      /NATS is unreachable at 127\.0\.0\.1:4999.*nats-server is running/,
    );
  });
});
