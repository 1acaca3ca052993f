import { createSchemaSet, type SchemaSet } from '../../src/schema/index.js';

/** The largest memo a `Posted` event may carry; the bad-input battery sends one far above it. */
export const MAX_MEMO = 200;

/**
 * What the projector validates on receipt: `Posted` v1 (an amount, the poison marker, an
 * optional short memo, nothing else). Other event types have no schema and are refused.
 */
export function projectorSchemas(): SchemaSet {
  return createSchemaSet([
    {
      type: 'Posted',
      version: 1,
      schema: {
        type: 'object',
        properties: {
          amount: { type: 'integer', minimum: 0 },
          poison: { type: 'boolean' },
          memo: { type: 'string', maxLength: MAX_MEMO },
        },
        additionalProperties: false,
      },
    },
  ]);
}
