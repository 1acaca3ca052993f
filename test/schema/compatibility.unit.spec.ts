/**
 * The compatibility checker, case by case: each row is a schema change and the verdict the
 * checker must give for every mode. "ok" means the new version may be registered under the
 * mode; "break" means it is refused with at least one breaking change, and every reported
 * change must name the field (`mentions`).
 *
 * BACKWARD = readers of the new version read data written with the old one;
 * FORWARD = readers of the old version read data written with the new one.
 */
import { describe, expect, it } from 'vitest';
import { checkCompatibility, checkHistory } from '../../src/schema/compatibility.js';
import { compatibilityModes, type CompatibilityMode, type JsonSchema } from '../../src/schema/types.js';

type Verdict = 'ok' | 'break';

interface Case {
  readonly name: string;
  readonly versions: readonly JsonSchema[];
  /** In the order of {@link modeOrder}. */
  readonly expected: readonly [Verdict, Verdict, Verdict, Verdict, Verdict, Verdict, Verdict];
  /** Text every breaking change message must contain (usually the field path). */
  readonly mentions?: string;
}

const modeOrder = [
  'BACKWARD',
  'FORWARD',
  'FULL',
  'BACKWARD_TRANSITIVE',
  'FORWARD_TRANSITIVE',
  'FULL_TRANSITIVE',
  'NONE',
] as const satisfies readonly CompatibilityMode[];

// Verdict rows: B F FULL B_T F_T FULL_T NONE
const backwardOnly = ['ok', 'break', 'break', 'ok', 'break', 'break', 'ok'] as const; // breaks FORWARD
const forwardOnly = ['break', 'ok', 'break', 'break', 'ok', 'break', 'ok'] as const; // breaks BACKWARD
const both = ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'] as const;
const neither = ['break', 'break', 'break', 'break', 'break', 'break', 'ok'] as const;

const object = (properties: Record<string, JsonSchema>, extra: Record<string, unknown> = {}): JsonSchema => ({
  type: 'object',
  properties,
  ...extra,
});
const str = { type: 'string' };
const int = { type: 'integer' };
const address = (extra: Record<string, unknown> = {}) => object({ city: str, postcode: str }, extra);

/** `{ change: oneOf [variant per kind] }`, variants in $defs, told apart by the required `kind`. */
const union = (kinds: string[], extra: Record<string, JsonSchema> = {}): JsonSchema => ({
  ...(object({ change: { oneOf: kinds.map((k) => ({ $ref: `#/$defs/${k}` })) } }) as object),
  $defs: Object.fromEntries(
    kinds.map((k) => [
      k,
      object({ kind: { const: k }, at: str, ...(k === kinds[0] ? extra : {}) }, { required: ['kind'] }),
    ]),
  ),
});

const cases: Case[] = [
  { name: 'identical schemas', versions: [object({ name: str }), object({ name: str })], expected: both },
  {
    name: 'only annotations change (title, description, examples, x-pii)',
    versions: [
      object({ name: str }),
      object(
        { name: { ...str, description: 'full name', examples: ['Ann'], 'x-pii': true } },
        { title: 'T' },
      ),
    ],
    expected: both,
  },
  {
    name: 'optional field added (open objects)',
    versions: [object({ a: str }), object({ a: str, b: str })],
    expected: both,
  },
  {
    name: 'optional field added, old readers refuse unknown fields',
    versions: [
      object({ a: str }, { additionalProperties: false }),
      object({ a: str, b: str }, { additionalProperties: false }),
    ],
    expected: backwardOnly,
    mentions: '`b`',
  },
  {
    name: 'required field added',
    versions: [object({ a: str }), object({ a: str, b: str }, { required: ['b'] })],
    expected: forwardOnly,
    mentions: '`b` was added as required in v2',
  },
  {
    name: 'required field added with a default (defaults do not validate)',
    versions: [object({ a: str }), object({ a: str, b: { ...str, default: 'x' } }, { required: ['b'] })],
    expected: forwardOnly,
    mentions: '`b`',
  },
  {
    name: 'default added to an existing optional field',
    versions: [object({ a: str }), object({ a: { ...str, default: 'x' } })],
    expected: both,
  },
  {
    name: 'optional field removed (open objects)',
    versions: [object({ a: str, b: str }), object({ a: str })],
    expected: both,
  },
  {
    name: 'optional field removed, new readers refuse unknown fields',
    versions: [
      object({ a: str, b: str }, { additionalProperties: false }),
      object({ a: str }, { additionalProperties: false }),
    ],
    expected: forwardOnly,
    mentions: '`b` was removed in v2',
  },
  {
    name: 'required field removed (open objects)',
    versions: [object({ a: str, b: str }, { required: ['b'] }), object({ a: str })],
    expected: backwardOnly,
    mentions: '`b`',
  },
  {
    name: 'required field removed, new readers refuse unknown fields',
    versions: [
      object({ a: str, b: str }, { required: ['b'], additionalProperties: false }),
      object({ a: str }, { additionalProperties: false }),
    ],
    expected: neither,
    mentions: '`b`',
  },
  {
    name: 'optional field becomes required',
    versions: [object({ a: str }), object({ a: str }, { required: ['a'] })],
    expected: forwardOnly,
    mentions: '`a` became required in v2',
  },
  {
    name: 'required field becomes optional',
    versions: [object({ a: str }, { required: ['a'] }), object({ a: str })],
    expected: backwardOnly,
    mentions: '`a` is no longer required in v2',
  },
  {
    name: 'type widened integer → number',
    versions: [object({ n: int }), object({ n: { type: 'number' } })],
    expected: backwardOnly,
    mentions: 'non-whole numbers',
  },
  {
    name: 'type narrowed number → integer',
    versions: [object({ n: { type: 'number' } }), object({ n: int })],
    expected: forwardOnly,
    mentions: '`n` changed type from number to integer',
  },
  {
    name: 'type changed string → integer',
    versions: [object({ n: str }), object({ n: int })],
    expected: neither,
    mentions: '`n` changed type',
  },
  {
    name: 'type widened string → string or integer',
    versions: [object({ n: str }), object({ n: { type: ['string', 'integer'] } })],
    expected: backwardOnly,
    mentions: '`n`',
  },
  {
    name: 'nullable added (type list)',
    versions: [object({ a: str }), object({ a: { type: ['string', 'null'] } })],
    expected: backwardOnly,
    mentions: 'null values',
  },
  {
    name: 'nullable removed (type list)',
    versions: [object({ a: { type: ['string', 'null'] } }), object({ a: str })],
    expected: forwardOnly,
    mentions: 'null values written with v1 are rejected',
  },
  {
    name: 'nullable added as anyOf [schema, null]',
    versions: [
      object({ a: { ...str, maxLength: 5 } }),
      object({ a: { anyOf: [{ ...str, maxLength: 5 }, { type: 'null' }] } }),
    ],
    expected: backwardOnly,
    mentions: '`a`',
  },
  {
    name: 'enum value added',
    versions: [
      object({ s: { enum: ['open', 'closed'] } }),
      object({ s: { enum: ['open', 'closed', 'held'] } }),
    ],
    expected: backwardOnly,
    mentions: '"held"',
  },
  {
    name: 'enum value removed',
    versions: [
      object({ s: { enum: ['open', 'closed', 'held'] } }),
      object({ s: { enum: ['open', 'closed'] } }),
    ],
    expected: forwardOnly,
    mentions: '`s` no longer allows "held" in v2',
  },
  {
    name: 'enum imposed on a free string',
    versions: [object({ s: str }), object({ s: { type: 'string', enum: ['a', 'b'] } })],
    expected: forwardOnly,
    mentions: '`s` is restricted to "a", "b"',
  },
  {
    name: 'enum lifted to a free string',
    versions: [object({ s: { type: 'string', enum: ['a', 'b'] } }), object({ s: str })],
    expected: backwardOnly,
    mentions: '`s`',
  },
  {
    name: 'const changed',
    versions: [object({ kind: { const: 'v1' } }), object({ kind: { const: 'v2' } })],
    expected: neither,
    mentions: '`kind`',
  },
  {
    name: 'enum values still within a new maxLength (checked value by value)',
    versions: [object({ s: { enum: ['ab', 'cd'] } }), object({ s: { type: 'string', maxLength: 2 } })],
    expected: backwardOnly,
  },
  {
    name: 'maxLength tightened',
    versions: [object({ a: { ...str, maxLength: 100 } }), object({ a: { ...str, maxLength: 50 } })],
    expected: forwardOnly,
    mentions: '`a`: maxLength tightened from 100 to 50 in v2',
  },
  {
    name: 'maxLength relaxed',
    versions: [object({ a: { ...str, maxLength: 50 } }), object({ a: { ...str, maxLength: 100 } })],
    expected: backwardOnly,
    mentions: 'maxLength relaxed from 50 to 100',
  },
  {
    name: 'minimum raised',
    versions: [object({ n: { ...int, minimum: 0 } }), object({ n: { ...int, minimum: 1 } })],
    expected: forwardOnly,
    mentions: '`n`: minimum',
  },
  {
    name: 'maximum added',
    versions: [object({ n: int }), object({ n: { ...int, maximum: 10 } })],
    expected: forwardOnly,
    mentions: '`n`',
  },
  {
    name: 'inclusive maximum becomes exclusive at the same value',
    versions: [
      object({ n: { type: 'number', maximum: 10 } }),
      object({ n: { type: 'number', exclusiveMaximum: 10 } }),
    ],
    expected: forwardOnly,
    mentions: '< 10',
  },
  {
    name: 'multipleOf added to an integer',
    versions: [object({ n: int }), object({ n: { ...int, multipleOf: 5 } })],
    expected: forwardOnly,
    mentions: 'multiples of 5',
  },
  {
    name: 'additionalProperties false → true',
    versions: [object({ a: str }, { additionalProperties: false }), object({ a: str })],
    expected: backwardOnly,
    mentions: 'refuses them',
  },
  {
    name: 'additionalProperties true → false',
    versions: [object({ a: str }), object({ a: str }, { additionalProperties: false })],
    expected: forwardOnly,
    mentions: 'the event data allows unknown fields in v1 but v2 refuses them',
  },
  {
    name: 'nested: address.postcode becomes required',
    versions: [object({ address: address() }), object({ address: address({ required: ['postcode'] }) })],
    expected: forwardOnly,
    mentions: 'field `address.postcode` became required in v2: events written with v1 may lack it',
  },
  {
    name: 'nested: address.city changes type',
    versions: [object({ address: address() }), object({ address: object({ city: int, postcode: str }) })],
    expected: neither,
    mentions: '`address.city`',
  },
  {
    name: 'nested closed object gains an optional field',
    versions: [
      object({ address: address({ additionalProperties: false }) }),
      object({
        address: object({ city: str, postcode: str, country: str }, { additionalProperties: false }),
      }),
    ],
    expected: backwardOnly,
    mentions: '`address.country` was added in v2',
  },
  {
    name: 'array item type changes string → integer',
    versions: [
      object({ tags: { type: 'array', items: str } }),
      object({ tags: { type: 'array', items: int } }),
    ],
    expected: neither,
    mentions: '`tags[]`',
  },
  {
    name: 'array item type widened integer → number',
    versions: [
      object({ xs: { type: 'array', items: int } }),
      object({ xs: { type: 'array', items: { type: 'number' } } }),
    ],
    expected: backwardOnly,
    mentions: '`xs[]`',
  },
  {
    name: 'array items gain a required field',
    versions: [
      object({ lines: { type: 'array', items: object({ sku: str, qty: int }) } }),
      object({ lines: { type: 'array', items: object({ sku: str, qty: int }, { required: ['sku'] }) } }),
    ],
    expected: forwardOnly,
    mentions: '`lines[].sku`',
  },
  {
    name: 'maxItems tightened',
    versions: [
      object({ xs: { type: 'array', maxItems: 10 } }),
      object({ xs: { type: 'array', maxItems: 3 } }),
    ],
    expected: forwardOnly,
    mentions: 'longer arrays',
  },
  {
    name: 'uniqueItems added',
    versions: [
      object({ xs: { type: 'array', items: str } }),
      object({ xs: { type: 'array', items: str, uniqueItems: true } }),
    ],
    expected: forwardOnly,
    mentions: 'repeated items',
  },
  {
    name: 'format added',
    versions: [object({ email: str }), object({ email: { ...str, format: 'email' } })],
    expected: forwardOnly,
    mentions: '`email`: format',
  },
  {
    name: 'pattern changed',
    versions: [
      object({ pc: { ...str, pattern: '^[0-9]{5}$' } }),
      object({ pc: { ...str, pattern: '^[0-9]{4}$' } }),
    ],
    expected: neither,
    mentions: '`pc`: pattern',
  },
  {
    name: 'map values become nullable (additionalProperties schema)',
    versions: [
      object({ labels: { type: 'object', additionalProperties: str } }),
      object({ labels: { type: 'object', additionalProperties: { type: ['string', 'null'] } } }),
    ],
    expected: backwardOnly,
    mentions: '`labels.*`',
  },
  {
    name: 'refactoring into $defs and $ref, same meaning',
    versions: [
      object({ home: address(), work: address() }),
      {
        ...(object({ home: { $ref: '#/$defs/address' }, work: { $ref: '#/$defs/address' } }) as object),
        $defs: { address: address() },
      },
    ],
    expected: both,
  },
  {
    name: 'a field referenced through $defs becomes required in the definition',
    versions: [
      { ...(object({ home: { $ref: '#/$defs/address' } }) as object), $defs: { address: address() } },
      {
        ...(object({ home: { $ref: '#/$defs/address' } }) as object),
        $defs: { address: address({ required: ['city'] }) },
      },
    ],
    expected: forwardOnly,
    mentions: '`home.city` became required',
  },
  {
    name: 'reader adds `not` (cannot be compared: reported for review)',
    versions: [object({ a: str }), object({ a: { ...str, not: { const: '' } } })],
    expected: forwardOnly,
    mentions: '`not`',
  },
  {
    name: 'unchanged discriminated oneOf over $refs',
    versions: [union(['moved', 'closed']), union(['moved', 'closed'])],
    expected: both,
  },
  {
    name: 'discriminated oneOf: a variant gains an optional field',
    versions: [union(['moved', 'closed']), union(['moved', 'closed'], { reason: str })],
    expected: both,
  },
  {
    name: 'discriminated oneOf: a variant is added',
    versions: [union(['moved', 'closed']), union(['moved', 'closed', 'merged'])],
    expected: backwardOnly,
    mentions: 'field `change.kind` allows "merged" in v2',
  },
  {
    name: 'oneOf whose options can overlap changes (reported for review)',
    versions: [
      object({ v: { oneOf: [{ type: 'string' }, { type: 'string', maxLength: 2 }] } }),
      object({ v: { oneOf: [{ type: 'string' }, { type: 'string', maxLength: 3 }] } }),
    ],
    expected: neither,
    mentions: '`oneOf`',
  },
  // Three versions: where the transitive modes differ from the plain ones.
  {
    name: 'field removed in v2 and re-added with another type in v3',
    versions: [object({ b: str }), object({}), object({ b: int })],
    expected: ['ok', 'ok', 'ok', 'break', 'break', 'break', 'ok'],
    mentions: '`b`',
  },
  {
    name: 'optional fields added one version at a time',
    versions: [object({ a: str }), object({ a: str, b: str }), object({ a: str, b: str, c: int })],
    expected: both,
  },
  {
    name: 'enum grows each version',
    versions: [
      object({ s: { enum: ['a'] } }),
      object({ s: { enum: ['a', 'b'] } }),
      object({ s: { enum: ['a', 'b', 'c'] } }),
    ],
    expected: backwardOnly,
    mentions: '`s`',
  },
];

describe('compatibility verdicts per mode', () => {
  it('has at least 30 schema-change cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
    expect(new Set(modeOrder)).toEqual(new Set(compatibilityModes));
  });

  describe.each(cases)('$name', (c) => {
    const history = c.versions.map((schema, i) => ({ version: i + 1, schema }));
    it.each(modeOrder.map((mode, i) => [mode, c.expected[i]!] as const))('%s → %s', (mode, expected) => {
      // Given the versions in order, When the whole history is checked under the mode
      const changes = checkHistory('test.Event', history, mode);
      // Then the verdict is the expected one, and each breaking change names the field
      expect(changes.length === 0 ? 'ok' : 'break', changes.map((ch) => ch.message).join('\n')).toBe(
        expected,
      );
      if (c.mentions) for (const change of changes) expect(change.message).toContain(c.mentions);
    });
  });
});

describe('breaking change reports', () => {
  const v1 = { version: 1, schema: object({ address: address() }) };
  const v2 = { version: 2, schema: object({ address: address({ required: ['postcode'] }) }) };

  it('says in plain words what breaks, with the path and both versions', () => {
    const [change, ...rest] = checkCompatibility('customer.AddressChanged', v2, [v1], 'BACKWARD');
    expect(rest).toEqual([]);
    expect(change).toMatchObject({
      type: 'customer.AddressChanged',
      kind: 'required-added',
      direction: 'backward',
      writerVersion: 1,
      readerVersion: 2,
      field: 'address.postcode',
      message: 'field `address.postcode` became required in v2: events written with v1 may lack it',
    });
  });

  it('words a forward break from the old readers’ side', () => {
    const older = { version: 1, schema: object({ a: str }, { required: ['a'] }) };
    const newer = { version: 2, schema: object({ a: str }) };
    const [change] = checkCompatibility('t', newer, [older], 'FORWARD');
    expect(change?.direction).toBe('forward');
    expect(change?.message).toBe(
      'field `a` is no longer required in v2, but v1 readers require it: they reject v2 events that lack it',
    );
  });

  it('checks only the previous version unless the mode is transitive', () => {
    const history = [object({ b: str }), object({}), object({ b: int })].map((schema, i) => ({
      version: i + 1,
      schema,
    }));
    const candidate = history[2]!;
    expect(checkCompatibility('t', candidate, history.slice(0, 2), 'BACKWARD')).toEqual([]);
    const transitive = checkCompatibility('t', candidate, history.slice(0, 2), 'BACKWARD_TRANSITIVE');
    expect(transitive.map((c) => [c.writerVersion, c.readerVersion, c.field])).toEqual([[1, 3, 'b']]);
  });

  it('terminates on recursive schemas and still finds a change inside the recursion', () => {
    const tree = (leaf: JsonSchema): JsonSchema => ({
      $defs: { node: object({ value: leaf, children: { type: 'array', items: { $ref: '#/$defs/node' } } }) },
      $ref: '#/$defs/node',
    });
    expect(
      checkHistory(
        't',
        [
          { version: 1, schema: tree(int) },
          { version: 2, schema: tree(int) },
        ],
        'FULL',
      ),
    ).toEqual([]);
    const changes = checkHistory(
      't',
      [
        { version: 1, schema: tree(int) },
        { version: 2, schema: tree(str) },
      ],
      'BACKWARD',
    );
    expect(changes.map((c) => c.field)).toContain('value');
  });

  it('reports a reader schema of false as accepting nothing', () => {
    const changes = checkHistory(
      't',
      [
        { version: 1, schema: object({ a: str }) },
        { version: 2, schema: object({ a: false }) },
      ],
      'BACKWARD',
    );
    expect(changes.map((c) => c.kind)).toEqual(['nothing-accepted']);
  });

  it('checks NONE as always compatible', () => {
    expect(
      checkHistory(
        't',
        [
          { version: 1, schema: str },
          { version: 2, schema: int },
        ],
        'NONE',
      ),
    ).toEqual([]);
  });
});
