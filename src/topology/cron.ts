const fields = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day-of-week', min: 0, max: 7 },
] as const;

const part = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/;

/**
 * What is wrong with a five-field cron expression (minute hour day-of-month month
 * day-of-week; numbers, ranges `a-b`, lists `a,b`, `*` and steps `/n`; no names), or
 * `undefined` when it is well-formed.
 */
export function cronProblem(expression: string): string | undefined {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) {
    return (
      `'${expression}' has ${parts.length} field${parts.length === 1 ? '' : 's'}; a cron expression has five: ` +
      "minute hour day-of-month month day-of-week, e.g. '0 2 * * *'"
    );
  }
  for (const [i, text] of parts.entries()) {
    const field = fields[i]!;
    for (const item of text.split(',')) {
      const match = part.exec(item);
      const from = match?.[2] === undefined ? undefined : Number(match[2]);
      const to = match?.[3] === undefined ? from : Number(match[3]);
      const step = match?.[4] === undefined ? 1 : Number(match[4]);
      const inRange = (n: number | undefined) => n === undefined || (n >= field.min && n <= field.max);
      if (!match || !inRange(from) || !inRange(to) || (from ?? 0) > (to ?? 0) || step < 1) {
        return (
          `'${expression}': ${field.name} '${item}' is not valid; use a number from ${field.min} to ${field.max}, ` +
          "a range a-b, a list a,b, '*' or a step such as '*/15'"
        );
      }
    }
  }
  return undefined;
}

const units = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Milliseconds of a duration such as `15m`, or `undefined` when it is not one. */
export function durationMs(text: string): number | undefined {
  const match = /^([1-9][0-9]*)(s|m|h|d)$/.exec(text);
  return match ? Number(match[1]) * units[match[2] as keyof typeof units] : undefined;
}
