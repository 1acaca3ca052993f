/** The minimization estate of the property tests: schemas, topology, the contract, random payloads. */
import fc from 'fast-check';
import { createSchemaCompiler } from '../../src/schema/compile.js';
import { piiKeyword } from '../../src/schema/pii.js';
import { createSchemaSet } from '../../src/schema/schema-set.js';

export const type = 'customer.AddressChanged';
const pii = { [piiKeyword]: true };
const customerShape = {
  type: 'object',
  properties: {
    customerId: { type: 'string' },
    name: { type: 'string', ...pii },
    email: { type: 'string', ...pii },
    note: { type: 'string' },
    address: {
      type: 'object',
      properties: {
        city: { type: 'string' },
        street: { type: 'string', ...pii },
        geo: { type: 'object', properties: { lat: { type: 'number' }, lng: { type: 'number' } } },
      },
    },
    lines: {
      type: 'array',
      items: {
        type: 'object',
        properties: { amount: { type: 'integer' }, note: { type: 'string', ...pii } },
      },
    },
  },
  required: ['customerId'],
};
export const schemas = createSchemaSet(
  [
    { type, version: 1, schema: customerShape },
    { type: 'customer.state', version: 1, schema: customerShape },
  ],
  { compiler: createSchemaCompiler({ keywords: [piiKeyword] }) },
);

export const topologyText = `
contexts:
  - name: profile
  - name: billing
  - name: claims
entityTypes:
  - name: customer
    authority: profile
flows:
  - name: to-billing
    entityType: customer
    source: profile
    consumer: billing
    strategy: push-domain
    fields: [customerId, email, address.city, lines.amount]
    pii: [email]
  - name: to-claims
    entityType: customer
    source: profile
    consumer: claims
    strategy: push-domain
    fields: [customerId, address]
`;

/** The contract, written out independently of the implementation: what each consumer may hold. */
export const allowed: Record<string, { fields: string[]; withheld: string[] }> = {
  // email is PII but opted in; address.street and lines.note are PII under allowed parents.
  billing: { fields: ['customerId', 'email', 'address.city', 'lines.amount'], withheld: [] },
  claims: { fields: ['customerId', 'address'], withheld: ['address.street'] },
};

/** Every key path in `value` (arrays transparent), e.g. `address.geo.lat`, `lines.amount`. */
export function pathsOf(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((item) => pathsOf(item, prefix));
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, sub]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    return [path, ...pathsOf(sub, path)];
  });
}

const under = (path: string, entry: string) => path === entry || path.startsWith(`${entry}.`);

/** The paths of `data` that `consumer` may not hold (empty when it is all allowed). */
export function forbiddenIn(consumer: string, data: unknown): string[] {
  const rule = allowed[consumer]!;
  return pathsOf(data).filter(
    (path) =>
      // An ancestor of an allowed path (e.g. `address` for `address.city`) is only the container.
      !rule.fields.some((entry) => under(path, entry) || under(entry, path)) ||
      rule.withheld.some((entry) => under(path, entry)),
  );
}

// Random nested objects whose keys reuse the schema's names at any depth.
const keys = fc.constantFrom(
  'customerId',
  'name',
  'email',
  'note',
  'address',
  'city',
  'street',
  'geo',
  'lat',
  'lines',
  'amount',
  'secret',
);
const leaf = fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.boolean(), fc.constant(null));
const nested = fc.object({ key: keys, maxDepth: 3, maxKeys: 4, values: [leaf] });
const structured = fc.record(
  {
    customerId: fc.string({ maxLength: 8 }),
    name: fc.string({ maxLength: 8 }),
    email: fc.string({ maxLength: 8 }),
    note: fc.string({ maxLength: 8 }),
    address: fc.oneof(
      fc.record(
        {
          city: fc.string({ maxLength: 6 }),
          street: fc.string({ maxLength: 6 }),
          geo: fc.record({ lat: fc.integer(), lng: fc.integer() }),
          secret: nested,
        },
        { requiredKeys: [] },
      ),
      leaf,
    ),
    lines: fc.array(
      fc.record(
        { amount: fc.integer(), note: fc.string({ maxLength: 4 }), secret: nested },
        { requiredKeys: [] },
      ),
      { maxLength: 3 },
    ),
    secret: nested,
  },
  { requiredKeys: [] },
);
export const payload = fc.oneof({ arbitrary: structured, weight: 3 }, { arbitrary: nested, weight: 1 });
