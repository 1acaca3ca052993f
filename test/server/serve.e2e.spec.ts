import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/server/index.js';
import { starterTopology } from '../../src/topology/index.js';
import { postgresAvailable, postgresUrl, serverDb, type TestDb } from '../support/services.js';

const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const available = await postgresAvailable();

describe.skipIf(!available)('tidemark serve', () => {
  let t: TestDb;
  let dir: string;
  beforeAll(async () => {
    t = await serverDb({ max: 2 });
    dir = await mkdtemp(join(tmpdir(), 'tidemark-serve-'));
    await writeFile(join(dir, 'tidemark.yaml'), starterTopology);
  });
  afterAll(async () => {
    await t.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  /** `tidemark serve` on this suite's schema and topology, with `args` after them. */
  const serve = (...args: string[]) =>
    spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        main,
        'serve',
        '--db',
        postgresUrl,
        '--schema',
        t.schema,
        '--topology',
        join(dir, 'tidemark.yaml'),
        ...args,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );

  it('prints a token hash for --token', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', main, 'serve', '--hash-token', 's3cret']);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await new Promise((resolve) => child.once('exit', resolve));
    expect(out.trim()).toBe(hashToken('s3cret'));
  });

  it('refuses a --fields file that is not consumer → entity type → field list, naming the entry', async () => {
    await writeFile(join(dir, 'fields.json'), JSON.stringify({ billing: { customer: 'address' } }));
    const child = serve('--token', `ann:viewer:${hashToken('x')}`, '--fields', join(dir, 'fields.json'));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/billing\.customer must be a list of field names/);
  });

  it('serves the API on the printed address with hashed tokens until SIGTERM', async () => {
    const child = serve(
      '--token',
      `ann:viewer:${hashToken('ann-token')}`,
      '--port',
      String(20_000 + Math.floor(Math.random() * 20_000)),
      '--json',
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      void exited.then((code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
    });
    const { url } = JSON.parse(first) as { url: string };
    try {
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect((await fetch(`${url}/api/topology`)).status).toBe(401);
      const topology = await fetch(`${url}/api/topology`, { headers: { authorization: 'Bearer ann-token' } });
      expect(((await topology.json()) as { flows: unknown[] }).flows).toHaveLength(4);
      const consumers = await fetch(`${url}/api/consumers`, {
        headers: { authorization: 'Bearer ann-token' },
      });
      expect(((await consumers.json()) as { consumers: string[] }).consumers).toEqual([
        'billing',
        'policy',
        'claims',
        'communications',
      ]);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
