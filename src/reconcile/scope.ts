import { TidemarkError } from '../errors.js';

export type Side = 'authority' | 'replica';

/** How one side of a flow is described: the entity type and the fields the consumer may hold. */
export interface ScopeSpec {
  readonly flow: string;
  readonly entityType: string;
  /** The authority context (authority side) or the consumer context (replica side). */
  readonly context: string;
  readonly fields: readonly string[];
}

/** Authority and replica digests of one flow may share a schema (embedded estates): the side keeps them apart. */
export const scopeKey = (side: Side, flow: string): string => `${side}:${flow}`;

export function checkFields(fields: readonly string[], flow: string): readonly string[] {
  if (
    !Array.isArray(fields) ||
    fields.length === 0 ||
    fields.some((f) => typeof f !== 'string' || f === '')
  ) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `reconcile digests of flow '${flow}' need the list of fields the consumer may hold, e.g. ` +
        `fields: ['name', 'address'] (got ${JSON.stringify(fields)})`,
      { context: { flow } },
    );
  }
  return [...new Set(fields)].sort();
}
