export interface Heartbeat {
  /** No beat starts after this; resolves once the beat in progress, if any, has finished. */
  stop(): Promise<void>;
}

/**
 * Runs `beat` every `intervalMs`, each beat starting `intervalMs` after the previous one ended,
 * so beats never overlap. A failed beat is tried again at the next one: broker trouble is
 * transient, and whatever a member holds lapses on its own if it lasts.
 */
export function startHeartbeat(beat: () => Promise<void>, intervalMs: number): Heartbeat {
  let running = true;
  let timer: NodeJS.Timeout | undefined;
  let beating: Promise<void> = Promise.resolve();
  const schedule = () => {
    timer = setTimeout(() => {
      beating = beat()
        .catch(() => {})
        .finally(() => {
          if (running) schedule();
        });
    }, intervalMs);
  };
  schedule();
  return {
    async stop() {
      running = false;
      clearTimeout(timer);
      await beating;
    },
  };
}
