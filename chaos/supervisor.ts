import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { sleep } from '../src/util/wakeup.js';
import type { ChaosWorkerConfig } from './workers/config.js';

/** A process that died without the orchestrator killing it: always a finding. */
export interface UnexpectedExit {
  readonly slot: string;
  readonly pid: number;
  readonly code: number | null;
  readonly signal: string | null;
  readonly stderr: string;
}

interface Slot {
  readonly name: string;
  readonly script: string;
  readonly config: (incarnation: number) => ChaosWorkerConfig;
  incarnation: number;
  child?: ChildProcess;
  /** Set while the orchestrator itself stops or kills the process. */
  expectingExit: boolean;
  /** Whether to start it again after an unexpected exit (not once a producer finished). */
  finished: boolean;
}

/**
 * Runs the chaos workers as child processes, restarts any that die on their own (and records
 * it), and gathers what they report: fault counts, the producer's progress, warnings.
 */
export class Supervisor {
  readonly injected = new Map<string, number>();
  readonly unexpectedExits: UnexpectedExit[] = [];
  readonly warnings: string[] = [];
  committed = 0;
  producerDone = false;
  readonly #slots = new Map<string, Slot>();
  #stopping = false;
  readonly #progressWaiters: { atEvent: number; resolve: () => void }[] = [];

  add(name: string, script: string, config: (incarnation: number) => ChaosWorkerConfig): void {
    this.#slots.set(name, { name, script, config, incarnation: 0, expectingExit: false, finished: false });
  }

  names(): string[] {
    return [...this.#slots.keys()];
  }

  pid(name: string): number | undefined {
    return this.#slot(name).child?.pid;
  }

  /** Starts the process of a slot and resolves once it reports ready. */
  async start(name: string, timeoutMs = 60_000): Promise<void> {
    const slot = this.#slot(name);
    // Already running (a crash restart and a fault's restart can race for the same slot).
    if (slot.child) return;
    const config = slot.config(slot.incarnation++);
    const path = fileURLToPath(new URL(`./workers/${slot.script}`, import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', path], {
      env: { ...process.env, TIDEMARK_CHAOS_WORKER: JSON.stringify(config) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    slot.child = child;
    slot.expectingExit = false;
    const stderr: string[] = [];
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr.push(chunk.toString());
      if (stderr.length > 50) stderr.shift();
    });
    let readyResolve: () => void = () => {};
    let readyReject: (error: Error) => void = () => {};
    const ready = new Promise<void>((resolve, reject) => {
      readyResolve = resolve;
      readyReject = reject;
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (message.ready) readyResolve();
      this.#take(message);
    });
    child.once('exit', (code, signal) => {
      readyReject(new Error(`${name} exited (${code ?? signal}) before it was ready: ${stderr.join('')}`));
      if (slot.child !== child) return;
      slot.child = undefined;
      if (name === 'producer' && code === 0) slot.finished = true;
      if (slot.expectingExit || slot.finished || this.#stopping) return;
      this.unexpectedExits.push({
        slot: name,
        pid: child.pid!,
        code,
        signal,
        stderr: stderr.join('').slice(-2_000),
      });
      // Keep the run going: the crash is reported, the data invariants are still checked.
      void sleep(500).then(() => (this.#stopping ? undefined : this.start(name).catch(() => {})));
    });
    const timer = setTimeout(
      () => readyReject(new Error(`${name} was not ready within ${timeoutMs} ms`)),
      timeoutMs,
    );
    try {
      await ready;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILLs a slot's process (no goodbye, mid-whatever it was doing) and waits for the exit. */
  async kill(name: string): Promise<number | undefined> {
    const slot = this.#slot(name);
    const child = slot.child;
    if (!child) return undefined;
    slot.expectingExit = true;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    return child.pid;
  }

  /** Resolves once the producer has committed at least `atEvent` events (or is done). */
  progress(atEvent: number): Promise<void> {
    if (this.committed >= atEvent || this.producerDone) return Promise.resolve();
    return new Promise((resolve) => this.#progressWaiters.push({ atEvent, resolve }));
  }

  /** Stops every process: SIGTERM, then SIGKILL after a grace period. */
  async stopAll(graceMs = 10_000): Promise<void> {
    this.#stopping = true;
    await Promise.all(
      [...this.#slots.values()].map(async (slot) => {
        const child = slot.child;
        if (!child) return;
        slot.expectingExit = true;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  #take(message: Record<string, unknown>): void {
    if (typeof message.fault === 'string' && typeof message.count === 'number') {
      this.injected.set(message.fault, (this.injected.get(message.fault) ?? 0) + message.count);
    }
    if (typeof message.committed === 'number') {
      this.committed = Math.max(this.committed, message.committed);
      if (message.done) this.producerDone = true;
      for (let i = this.#progressWaiters.length - 1; i >= 0; i--) {
        const waiter = this.#progressWaiters[i]!;
        if (this.committed >= waiter.atEvent || this.producerDone) {
          this.#progressWaiters.splice(i, 1);
          waiter.resolve();
        }
      }
    }
    if (typeof message.warning === 'string' && this.warnings.length < 200)
      this.warnings.push(message.warning);
  }

  #slot(name: string): Slot {
    const slot = this.#slots.get(name);
    if (!slot) throw new Error(`no chaos process named ${name}`);
    return slot;
  }
}
