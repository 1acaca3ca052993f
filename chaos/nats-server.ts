import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TidemarkError } from '../src/errors.js';
import { sleep } from '../src/util/wakeup.js';

export const natsServerBinary = process.env.TIDEMARK_NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

/** A port the kernel just gave out on 127.0.0.1, so the run never takes another suite's. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/**
 * A nats-server of its own (the chaos run's, or a test's): own port, own store directory,
 * restartable with its stream intact. NATS 2.9 has no `sync_interval`, so the server
 * acknowledges before it fsyncs; restarts here are graceful (SIGTERM flushes the store), which is
 * what a routine restart or upgrade does. The tests use it too (test/support/nats-server.ts), so
 * chaos never depends on test code.
 */
export class OwnNatsServer {
  readonly storeDir: string;
  #port = 0;
  #process: ChildProcess | undefined;

  /** `name` tells whose store directory it is, in the temporary directory. */
  constructor(name = 'nats') {
    this.storeDir = mkdtempSync(join(tmpdir(), `tidemark-${name}-`));
  }

  get url(): string {
    return `127.0.0.1:${this.#port}`;
  }

  async start(): Promise<void> {
    if (this.#port === 0) this.#port = await freePort();
    const child = spawn(
      natsServerBinary,
      ['-a', '127.0.0.1', '-p', String(this.#port), '-js', '-sd', this.storeDir],
      { stdio: 'ignore' },
    );
    child.once('error', () => {});
    this.#process = child;
    for (let i = 0; i < 150; i++) {
      if (child.exitCode !== null) break;
      if (await portOpen(this.#port)) return;
      await sleep(100);
    }
    throw new TidemarkError(
      'TM_SERVICE_UNREACHABLE',
      `nats-server (${natsServerBinary}) did not open port ${this.#port}; check that it is installed ` +
        '(or set TIDEMARK_NATS_SERVER_BIN) and that JetStream can write to ' +
        this.storeDir,
    );
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.#process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  async dispose(): Promise<void> {
    await this.stop('SIGKILL');
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}

/** Whether the nats-server binary is there, so suites needing it can skip where it is not. */
export const natsServerInstalled = (): Promise<boolean> =>
  access(natsServerBinary).then(
    () => true,
    () => false,
  );
