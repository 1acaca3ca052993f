import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface Worker {
  readonly pid: number;
  readonly child: ChildProcess;
  /** The last `partitions` list the worker reported. */
  partitions: number[];
  readonly messages: Record<string, unknown>[];
  readonly exited: Promise<number | null>;
}

/** Starts a worker script under tsx and resolves once it says it is ready. */
export async function startWorker(script: string, config: unknown, timeoutMs = 30_000): Promise<Worker> {
  const path = fileURLToPath(new URL(`./workers/${script}`, import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', path], {
    env: { ...process.env, TIDEMARK_WORKER: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const worker: Worker = { pid: child.pid!, child, partitions: [], messages: [], exited };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${script} did not start: ${stderr.join('')}`)),
      timeoutMs,
    );
    void exited.then((code) => reject(new Error(`${script} exited with ${code}: ${stderr.join('')}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      worker.messages.push(message);
      if (Array.isArray(message.partitions)) worker.partitions = message.partitions as number[];
      if (message.ready) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return worker;
}

export async function stopWorker(worker: Worker): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  worker.child.kill('SIGTERM');
  const timer = setTimeout(() => worker.child.kill('SIGKILL'), 10_000);
  await worker.exited;
  clearTimeout(timer);
}
