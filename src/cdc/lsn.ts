import { TidemarkError } from '../errors.js';

const lsnPattern = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

/** A PostgreSQL LSN (`16/B374D848`) as a number that compares correctly. */
export function lsnValue(lsn: string): bigint {
  const match = lsnPattern.exec(lsn);
  if (!match) {
    throw new TidemarkError('TM_INVALID_ARGUMENT', `${JSON.stringify(lsn)} is not an LSN like "16/B374D848"`);
  }
  return (BigInt(`0x${match[1]}`) << 32n) + BigInt(`0x${match[2]}`);
}

export function formatLsn(value: bigint): string {
  return `${(value >> 32n).toString(16).toUpperCase()}/${(value & 0xffffffffn).toString(16).toUpperCase()}`;
}

export function lsnAfter(a: string, b: string): boolean {
  return lsnValue(a) > lsnValue(b);
}
