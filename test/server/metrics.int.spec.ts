import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRelay } from '../../src/relay/index.js';
import type { ControlPlane } from '../../src/server/index.js';
import { waitUntil } from '../support/wait.js';
import { asViewer, estateServer, startEstate, type Estate } from './estate.js';

const promtool = '/usr/bin/promtool';

/** Runs `promtool check metrics` with the exposition on stdin; resolves its exit code and output. */
function checkMetrics(exposition: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(promtool, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
    child.stdin.end(exposition);
  });
}

describe.skipIf(!existsSync(promtool))('/metrics checked by promtool', () => {
  let estate: Estate;
  let server: ControlPlane;
  let base: string;

  beforeAll(async () => {
    estate = await startEstate();
    server = await estateServer(estate, { lagSampleMs: 0, dashboardDir: false });
    base = await server.listen();
    await estate.change('c-1', '1 Pier');
    await estate.change('c-2', 'POISON');
    await estate.change('c-2', '2 Pier');
    await waitUntil(
      async () =>
        (await server.app.inject({ url: '/api/dead-letters', headers: asViewer })).json().deadLetters.length,
      2,
      20_000,
      'a parked key',
    );
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await estate?.stop();
  });

  it('serves an exposition promtool accepts, with the Tidemark metrics and process metrics', async () => {
    const res = await fetch(`${base}/metrics`, { headers: asViewer });
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const exposition = await res.text();
    for (const line of [
      /^tidemark_outbox_backlog\{relay="default"\} \d+$/m,
      /^tidemark_relay_relayed_total\{relay="default"\} [1-9]\d*$/m,
      /^tidemark_dlq_messages\{consumer="billing",status="open"\} 1$/m,
      /^tidemark_dlq_messages\{consumer="billing",status="parked"\} 1$/m,
      /^tidemark_parked_keys\{consumer="billing"\} 1$/m,
      /^tidemark_consumer_lag_events\{group="billing",partition="\d+"\} \d+$/m,
      /^process_resident_memory_bytes \d+/m,
    ]) {
      expect(exposition).toMatch(line);
    }
    const { code, output } = await checkMetrics(exposition);
    expect(output).toBe('');
    expect(code).toBe(0);
  });

  it('reports a relay that first ran after the server started', async () => {
    const late = createRelay({
      db: estate.t.db,
      backbone: estate.backbone,
      schema: estate.t.schema,
      name: 'late',
    });
    await late.relayOnce();
    await late.stop();
    const exposition = await (await fetch(`${base}/metrics`, { headers: asViewer })).text();
    expect(exposition).toMatch(/^tidemark_relay_relayed_total\{relay="late"\} [1-9]\d*$/m);
    expect((await checkMetrics(exposition)).code).toBe(0);
  });

  it('promtool does fail on a broken exposition (the check can fail)', async () => {
    const { code, output } = await checkMetrics('# TYPE broken counter\nbroken{a="1" 3\n');
    expect(code).not.toBe(0);
    expect(output).toMatch(/error/i);
  });
});
