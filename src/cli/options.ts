import { InvalidArgumentError } from 'commander';

/** A commander parser for a positive integer option whose error names the option and the fix. */
export function positiveInteger(option: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new InvalidArgumentError(
        `${option} needs a whole number of at least 1, e.g. ${option} 10 (got "${value}")`,
      );
    }
    return n;
  };
}
