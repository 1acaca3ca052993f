import { TidemarkError } from '../errors.js';

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Refuses strings PostgreSQL cannot store (NUL, unpaired UTF-16 surrogates) anywhere in a
 * request value, naming where, so they get a 400 rather than a database error.
 */
export function assertWellFormed(value: unknown, where: string, depth = 0): void {
  if (depth > 64) {
    throw new TidemarkError('TM_REQUEST_INVALID', `${where} is nested more than 64 levels deep`);
  }
  if (typeof value === 'string') {
    if (value.includes('\u0000') || loneSurrogate.test(value)) {
      throw new TidemarkError(
        'TM_REQUEST_INVALID',
        `${where} contains a NUL character or an unpaired surrogate, which cannot be stored; remove it`,
      );
    }
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => assertWellFormed(item, `${where}[${i}]`, depth + 1));
    return;
  }
  for (const [key, item] of Object.entries(value)) {
    assertWellFormed(key, `${where} key`, depth + 1);
    assertWellFormed(item, `${where}.${key.slice(0, 50)}`, depth + 1);
  }
}
