/** Levenshtein distance, iterative with one row; inputs are short names. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/**
 * The candidate closest to a misspelt value, if one is close enough to be a likely typo: equal
 * ignoring case, or at most a third of the value's length (at least 1) edits away.
 */
export function closest(value: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    if (candidate === value) continue;
    const distance = candidate.toLowerCase() === value.toLowerCase() ? 0 : editDistance(value, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(1, Math.floor(value.length / 3)) ? best : undefined;
}

/** ` — did you mean 'x'?` when a candidate is close, else the empty string. */
export function didYouMean(value: string, candidates: readonly string[]): string {
  const match = closest(value, candidates);
  return match === undefined ? '' : ` — did you mean '${match}'?`;
}

/** `a, b, c` or `none` — for "declared contexts: …" in messages. */
export function listOf(values: readonly string[]): string {
  return values.length === 0 ? 'none' : values.join(', ');
}
