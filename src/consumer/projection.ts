import { TidemarkError } from '../errors.js';
import { quoteIdentifier } from '../store/identifier.js';

const shadowSuffix = '__rebuild';

/** Resolves the projection tables a consumer declared, live or shadow (during a rebuild). */
export function projectionTables(consumer: string, declared: readonly string[], schema: string) {
  const q = quoteIdentifier(schema, 'projection schema');
  for (const table of declared) {
    quoteIdentifier(table, `projection table of consumer '${consumer}'`);
    quoteIdentifier(`${table}${shadowSuffix}`, `shadow of projection table '${table}' (name too long?)`);
  }
  const known = new Set(declared);
  const resolve = (suffix: string) => (table: string) => {
    if (!known.has(table)) {
      throw new TidemarkError(
        'TM_INVALID_ARGUMENT',
        `consumer '${consumer}' wrote to table '${table}', which is not in its projection.tables ` +
          `(${declared.length ? declared.join(', ') : 'none declared'}); add it to projection.tables`,
        { context: { consumer, table } },
      );
    }
    return `${q}.${quoteIdentifier(`${table}${suffix}`)}`;
  };
  return {
    tables: declared,
    live: resolve(''),
    shadow: resolve(shadowSuffix),
    old: resolve('__old'),
    /** `ALTER TABLE … RENAME TO` takes a bare name. */
    bare: (table: string, which: 'live' | 'old') =>
      quoteIdentifier(which === 'live' ? table : `${table}__old`),
  };
}

export type ProjectionTables = ReturnType<typeof projectionTables>;
