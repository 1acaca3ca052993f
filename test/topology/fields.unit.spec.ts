/**
 * Per-flow allow-lists in the topology (`fields`, `pii`): shape and structural errors from the
 * file alone, and, given the registered schemas, a field no schema declares or a PII field
 * without the explicit opt-in — each with its line, the field and the flow.
 */
import { describe, expect, it } from 'vitest';
import { createSchemaCompiler } from '../../src/schema/compile.js';
import { piiKeyword } from '../../src/schema/pii.js';
import { createSchemaSet } from '../../src/schema/schema-set.js';
import { parseTopology } from '../../src/topology/index.js';
import { fieldPolicyOf, receiveFieldsOf, restrictedConsumers } from '../../src/topology/field-policy.js';
import { billingFlow, errorsOf, estate, valid, yaml } from './helpers.js';

const schemas = createSchemaSet(
  [
    {
      type: 'customer.AddressChanged',
      version: 1,
      schema: {
        type: 'object',
        properties: {
          customerId: { type: 'string' },
          email: { type: 'string', [piiKeyword]: true },
          address: {
            type: 'object',
            properties: { city: { type: 'string' }, street: { type: 'string', [piiKeyword]: true } },
          },
          lines: { type: 'array', items: { type: 'object', properties: { amount: { type: 'number' } } } },
        },
      },
    },
    {
      type: 'customer.state',
      version: 1,
      schema: { type: 'object', properties: { customerId: { type: 'string' }, tier: { type: 'string' } } },
    },
  ],
  { compiler: createSchemaCompiler({ keywords: [piiKeyword] }) },
);

/** estate + billingFlow (lines 1-13), then the given lines from 14. */
const withLines = (...extra: string[]) => yaml(...estate, ...billingFlow, ...extra);
const checked = (text: string) =>
  parseTopology(text, 'test.yaml', { schemas }).errors.map(({ line, path, message }) => ({
    line,
    path,
    message,
  }));

describe('flow allow-lists in the topology', () => {
  it('builds fields and the PII opt-in into the flow, and derives the consumer policies', () => {
    const topology = valid(withLines('    fields: [customerId, address.city, email]', '    pii: [email]'));
    expect(topology.flows[0]).toMatchObject({
      fields: ['customerId', 'address.city', 'email'],
      pii: ['email'],
    });
    expect(restrictedConsumers(topology)).toEqual(['billing']);
    expect(receiveFieldsOf(topology, 'billing')).toEqual({
      customer: ['customerId', 'address.city', 'email'],
    });
    expect(fieldPolicyOf(topology, 'claims').fields).toEqual({});
    // And the same file passes the checks against the schemas.
    expect(checked(withLines('    fields: [customerId, address.city, email]', '    pii: [email]'))).toEqual(
      [],
    );
  });

  it('a flow without fields has no allow-list and an empty opt-in', () => {
    const topology = valid(withLines());
    expect(topology.flows[0]!.fields).toBeUndefined();
    expect(topology.flows[0]!.pii).toEqual([]);
    expect(restrictedConsumers(topology)).toEqual([]);
  });

  it('refuses a malformed field path, a duplicate, and a PII opt-in outside fields (no schemas needed)', () => {
    expect(
      errorsOf(withLines('    fields: [customerId, "address..city", customerId]', '    pii: [emial]')),
    ).toEqual([
      {
        line: 14,
        path: 'flows[0].fields[1]',
        message: expect.stringContaining("'address..city' is not valid; expected a field path") as string,
      },
      {
        line: 14,
        path: 'flows[0].fields[2]',
        message: "'customerId' is already listed at fields[0]: remove one",
      },
      {
        line: 15,
        path: 'flows[0].pii[0]',
        message: expect.stringContaining(
          "flow 'to-billing' opts in to PII field 'emial', which is not in its fields",
        ) as string,
      },
    ]);
  });

  it('names the field and the flow when no registered schema declares the field', () => {
    expect(checked(withLines('    fields:', '      - customerId', '      - adress.city'))).toEqual([
      {
        line: 16,
        path: 'flows[0].fields[1]',
        message:
          "flow 'to-billing' allows field 'adress.city', which no registered schema of 'customer' declares " +
          "(customer.AddressChanged v1; customer.state v1) — did you mean 'address.city'?",
      },
    ]);
  });

  it('lists the declared fields when nothing is close, through arrays', () => {
    const [error] = checked(withLines('    fields: [lines.amount, zzz]'));
    expect(error).toMatchObject({ line: 14, path: 'flows[0].fields[1]' });
    expect(error!.message).toContain(
      'declared fields: address, address.city, address.street, customerId, email, lines, lines.amount, tier',
    );
  });

  it('flags a PII-tagged field without the explicit opt-in, also below a tagged field', () => {
    expect(checked(withLines('    fields: [customerId, email, address.street]'))).toEqual([
      {
        line: 14,
        path: 'flows[0].fields[1]',
        message:
          "flow 'to-billing' allows 'email', which customer.AddressChanged v1 tags as PII (x-pii on 'email'), " +
          "without an explicit opt-in: add pii: [email] to the flow if 'billing' may hold it, or remove it from fields",
      },
      {
        line: 14,
        path: 'flows[0].fields[2]',
        message: expect.stringContaining(
          "allows 'address.street', which customer.AddressChanged v1 tags as PII",
        ) as string,
      },
    ]);
    expect(
      checked(
        withLines('    fields: [customerId, email, address.street]', '    pii: [email, address.street]'),
      ),
    ).toEqual([]);
  });

  it('flags an opt-in for a field no schema tags as PII', () => {
    expect(checked(withLines('    fields: [customerId, email]', '    pii: [email, customerId]'))).toEqual([
      {
        line: 15,
        path: 'flows[0].pii[1]',
        message: expect.stringContaining(
          "flow 'to-billing' opts in to 'customerId' as PII, but no registered schema of 'customer' tags it x-pii",
        ) as string,
      },
    ]);
  });

  it('refuses an allow-list for an entity type without any registered schema', () => {
    const text = yaml(
      ...estate,
      '  - name: policy',
      '    authority: profile',
      ...billingFlow.map((l) => l.replace('entityType: customer', 'entityType: policy')),
      '    fields: [number]',
    );
    expect(checked(text)).toEqual([
      {
        line: 16,
        path: 'flows[0].fields',
        message: expect.stringContaining(
          "flow 'to-billing' lists fields of 'policy', but no event schema of 'policy' is registered",
        ) as string,
      },
    ]);
    // Without schemas the same file is valid: the check needs them.
    expect(parseTopology(text, 'test.yaml').valid).toBe(true);
  });
});
