import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const binary = process.env.TIDEMARK_NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** A nats-server of the test's own, on its own port and store directory, that it can stop and start. */
export class OwnNatsServer {
  readonly port = 20_000 + Math.floor(Math.random() * 20_000);
  readonly storeDir = mkdtempSync(join(tmpdir(), 'tidemark-nats-'));
  #process: ChildProcess | undefined;

  get url(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.#process = spawn(binary, ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir], {
      stdio: 'ignore',
    });
    for (let i = 0; i < 100; i++) {
      if (await portOpen(this.port)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`nats-server did not open port ${this.port}`);
  }

  /** Stops the server (SIGTERM: it flushes its store, as in a routine restart). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.#process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  async dispose(): Promise<void> {
    await this.stop('SIGKILL');
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}

export const natsServerInstalled = async (): Promise<boolean> => {
  const { access } = await import('node:fs/promises');
  return access(binary).then(
    () => true,
    () => false,
  );
};
