/**
 * A level-triggered wake-up: `signal()` before or during `wait()` ends the wait.
 * Many signals between two waits collapse into one.
 */
export class Wakeup {
  #pending = false;
  #resolve: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;

  signal(): void {
    this.#pending = true;
    this.#finish();
  }

  /** Resolves on the next signal, or after `timeoutMs`, whichever comes first. */
  wait(timeoutMs: number): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#resolve = resolve;
      this.#timer = setTimeout(() => this.#finish(), timeoutMs);
    });
  }

  #finish(): void {
    const resolve = this.#resolve;
    if (!resolve) return;
    this.#pending = false;
    this.#resolve = undefined;
    clearTimeout(this.#timer);
    resolve();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
