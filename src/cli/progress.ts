/**
 * A one-line progress bar on stderr, drawn only when stderr is a terminal, so piped output
 * and `--json` stay clean.
 */
export function progressBar(stream: NodeJS.WriteStream = process.stderr) {
  const enabled = stream.isTTY === true;
  let lastDraw = 0;
  let shown = false;
  return {
    update(label: string, done: number, total: number) {
      if (!enabled) return;
      const now = Date.now();
      if (now - lastDraw < 80 && done < total) return;
      lastDraw = now;
      const width = 30;
      const ratio = total > 0 ? Math.min(1, done / total) : 0;
      const filled = Math.round(ratio * width);
      stream.write(`\r${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${done}/${total} ${label}\x1b[K`);
      shown = true;
    },
    clear() {
      if (enabled && shown) stream.write('\r\x1b[K');
      shown = false;
    },
  };
}
