import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { postgresAvailable, postgresUrl } from '../support/services.js';
import { openLegacyEstate, type LegacyEstate } from './legacy.js';

const available = await postgresAvailable();

async function startCaptureProcess(config: Record<string, unknown>) {
  const script = fileURLToPath(new URL('./capture-worker.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, TIDEMARK_CDC_WORKER: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    void exited.then(() => reject(new Error(`capture process exited: ${stderr.join('')}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes('"ready"')) resolve();
    });
  });
  return { child, exited };
}

describe.skipIf(!available)('CDC capture crash and resume', () => {
  let estate: LegacyEstate | undefined;
  afterEach(async () => {
    await estate?.cleanup();
    estate = undefined;
  });

  it('Given a capture killed (SIGKILL) mid-stream, including inside a large source transaction, when it resumes, then every change is in the outbox exactly once', async () => {
    estate = await openLegacyEstate();
    const { source, table, tidemark } = estate;
    const worker = await startCaptureProcess({
      url: postgresUrl,
      schema: tidemark.schema,
      table,
      name: estate.captureName,
      transactionChunkSize: 100,
    });
    // 40 small transactions, then one of 3,000 rows the capture writes in 30 parts.
    let expected = 0;
    for (let t = 0; t < 40; t += 1) {
      await source.query(
        `INSERT INTO ${table} (id, addr_line1) SELECT g, 'small' FROM generate_series($1::int, $1::int + 24) g`,
        [t * 25 + 1],
      );
      expected += 25;
    }
    await source.query(`UPDATE ${table} SET rev = 2, addr_line1 = 'bulk'`);
    expected += 1000;
    await source.query(
      `INSERT INTO ${table} (id, addr_line1) SELECT g, 'large' FROM generate_series(5001, 7000) g`,
    );
    expected += 2000;

    // Kill it once part of the work is durable and before all of it is.
    const count = async () =>
      Number(
        (await tidemark.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${tidemark.schema}".outbox`))
          .rows[0]!.n,
      );
    let seenBeforeKill = 0;
    for (let i = 0; i < 600; i += 1) {
      seenBeforeKill = await count();
      if (seenBeforeKill >= 1200) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    worker.child.kill('SIGKILL');
    await worker.exited;

    const capture = estate.capture({ snapshot: 'never', transactionChunkSize: 100 });
    await capture.start();
    await capture.catchUp();

    const events = await estate.outbox();
    const keys = events.map((e) => `${e.id}@${e.data.rev}`);
    expect(keys.length).toBe(expected);
    expect(new Set(keys).size).toBe(expected);
    expect(seenBeforeKill).toBeGreaterThan(0);
    await capture.stop();
  });
});
