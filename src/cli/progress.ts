/**
 * A one-line progress bar on stderr with rate and time left, drawn only when stderr is a
 * terminal, so piped output and `--json` stay clean.
 */
export function progressBar(stream: NodeJS.WriteStream = process.stderr) {
  const enabled = stream.isTTY === true;
  let lastDraw = 0;
  let shown = false;
  let started: { at: number; done: number } | undefined;
  return {
    update(label: string, done: number, total: number) {
      if (!enabled) return;
      const now = Date.now();
      started ??= { at: now, done };
      if (now - lastDraw < 80 && done < total) return;
      lastDraw = now;
      const width = 30;
      const ratio = total > 0 ? Math.min(1, done / total) : 0;
      const filled = Math.round(ratio * width);
      const seconds = (now - started.at) / 1000;
      const rate = seconds > 0.5 ? (done - started.done) / seconds : 0;
      const eta = rate > 0 && total > done ? ` · ${formatDuration((total - done) / rate)} left` : '';
      const speed = rate > 0 ? ` · ${Math.round(rate)}/s` : '';
      stream.write(
        `\r${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${done}/${total}${speed}${eta} ${label}\x1b[K`,
      );
      shown = true;
    },
    clear() {
      if (enabled && shown) stream.write('\r\x1b[K');
      shown = false;
    },
  };
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
