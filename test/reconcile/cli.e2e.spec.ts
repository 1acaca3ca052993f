import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { starterTopology } from '../../src/topology/index.js';
import { postgresAvailable, postgresUrl, serverDb, type TestDb } from '../support/services.js';
import { createEstate, type Estate } from './estate.js';

const run = promisify(execFile);
const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const available = await postgresAvailable();

describe.runIf(available)('tidemark reconcile (server PostgreSQL)', () => {
  let authority: TestDb;
  let replica: TestDb;
  let estate: Estate;
  let dir: string;
  const tidemark = async (...args: string[]) => {
    const base = [
      'reconcile',
      '--db',
      postgresUrl,
      '--schema',
      replica.schema,
      '--authority-schema',
      authority.schema,
    ];
    try {
      const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', main, ...base, ...args], {
        timeout: 60_000,
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tidemark-reconcile-'));
    authority = await serverDb();
    replica = await serverDb();
    estate = await createEstate(authority, replica);
    for (let i = 1; i <= 5; i++)
      await estate.deliver(await estate.write(`c${i}`, { name: `N${i}`, address: `A${i}` }));
    await estate.write('c6', { name: 'N6', address: 'A6' }); // missing
    await estate.remove('c5'); // orphan
  });
  afterAll(async () => {
    await replica?.cleanup();
    await authority?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--dry-run --json reports each class and changes nothing', async () => {
    const result = await tidemark('--flow', 'customer-to-billing', '--dry-run', '--json');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { found: unknown; outcomes: unknown; dryRun: boolean };
    expect(report.found).toEqual({ missing: 1, stale: 0, orphan: 1, divergent: 0 });
    expect(report.outcomes).toEqual({ 'dry-run': 2 });
  });

  it('an unknown flow is a clear error naming the known ones', async () => {
    const result = await tidemark('--flow', 'customer-to-biling');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      "there is no flow 'customer-to-biling' to reconcile; known flows: customer-to-billing",
    );
    expect(result.stderr).toContain('[TM_RECON_UNKNOWN_FLOW]');
  });

  it('an unknown flow is checked against the topology file when one is given', async () => {
    writeFileSync(join(dir, 'topology.yaml'), starterTopology);
    const result = await tidemark('--flow', 'nope', '--file', join(dir, 'topology.yaml'), '--json');
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { code: 'TM_RECON_UNKNOWN_FLOW' } });
  });

  it('opens exceptions where repairs need the consumer, and says so (exit code 3)', async () => {
    const result = await tidemark(
      '--flow',
      'customer-to-billing',
      '--repair',
      'rehydrate',
      '--settle-ms',
      '1',
    );
    expect(result.code).toBe(3);
    expect(result.stdout).toContain('1 missing, 0 stale, 1 orphan, 0 divergent');
    expect(result.stdout).toContain('2 exception');
    expect(result.stdout).toContain("need the consumer's handlers");
  });
});
