/**
 * The shape checks (JSON Schema via TypeBox + ajv, src/topology/schema.ts), one row per kind of
 * message, each with the exact line, the path and the message.
 */
import { describe, expect, it } from 'vitest';
import { billingFlow, errorsOf, estate, valid, yaml } from './helpers.js';

interface Expected {
  readonly line: number;
  readonly path: string;
  readonly message: string;
}

const rows: [string, string, Expected[]][] = [
  [
    'an unknown top-level field, suggesting the right one',
    yaml(...estate, 'flow: []'),
    [
      {
        line: 8,
        path: 'flow',
        message:
          "unknown field 'flow'; allowed fields: version, contexts, entityTypes, flows, decisions, calendars, " +
          "conditions, reconciliation, backbone — did you mean 'flows'?",
      },
    ],
  ],
  [
    'an unknown field inside a flow, at the key',
    yaml(...estate, ...billingFlow, '    colour: red'),
    [
      {
        line: 14,
        path: 'flows[0].colour',
        message:
          "unknown field 'colour'; allowed fields: name, entityType, source, consumer, strategy, tier, " +
          'maxStalenessMs, rules, fields, pii, description',
      },
    ],
  ],
  [
    'a missing required field, at the item that lacks it',
    yaml(...estate, ...billingFlow.slice(0, 5)),
    [
      {
        line: 9,
        path: 'flows[0].strategy',
        message:
          "missing required field 'strategy' (the propagation strategy: one of push-state, push-domain, " +
          'notify-fetch, pull): add it',
      },
    ],
  ],
  [
    'a missing required section',
    yaml('contexts:', '  - name: profile'),
    [
      {
        line: 1,
        path: 'entityTypes',
        message: "missing required field 'entityTypes' (a list of entity types",
      },
    ],
  ],
  [
    'a value of the wrong type',
    yaml('contexts: profile', 'entityTypes: []'),
    [
      {
        line: 1,
        path: 'contexts',
        message: "expected a list of contexts, e.g. - name: billing, got 'profile'",
      },
      { line: 2, path: 'entityTypes', message: 'needs at least 1 item' },
    ],
  ],
  [
    'a rule written as a plain value',
    yaml(...estate, ...billingFlow, '    rules:', '      - under-review'),
    [
      {
        line: 15,
        path: 'flows[0].rules[0]',
        message:
          "expected a rule mapping with one of 'hold: <state>', 'deferred-until: <calendar>', " +
          "'blocked-when: <condition>', got 'under-review'",
      },
    ],
  ],
  [
    'a misspelt strategy, suggesting the right one',
    yaml(...estate, ...billingFlow.slice(0, 5), '    strategy: push-stat'),
    [
      {
        line: 13,
        path: 'flows[0].strategy',
        message:
          "'push-stat' is not allowed here; use one of push-state, push-domain, notify-fetch, pull — did you mean 'push-state'?",
      },
    ],
  ],
  [
    'an unknown tier',
    yaml(...estate, ...billingFlow, '    tier: Eventual'),
    [
      {
        line: 14,
        path: 'flows[0].tier',
        message:
          "'Eventual' is not allowed here; use one of strong, bounded, eventual — did you mean 'eventual'?",
      },
    ],
  ],
  [
    'an unknown repair policy',
    yaml(
      ...estate,
      ...billingFlow,
      'reconciliation:',
      '  - flow: to-billing',
      '    every: 15m',
      '    repair: replay',
    ),
    [
      {
        line: 17,
        path: 'reconciliation[0].repair',
        message: "'replay' is not allowed here; use one of republish, rehydrate, tombstone, exception",
      },
    ],
  ],
  [
    'a name that is not lower-case words joined by dashes',
    yaml(
      'contexts:',
      '  - name: Customer_Profile',
      'entityTypes:',
      '  - name: customer',
      '    authority: Customer_Profile',
    ),
    [
      {
        line: 2,
        path: 'contexts[0].name',
        message:
          "'Customer_Profile' is not valid; expected the context name: lower-case letters and digits, words " +
          "joined by '-', starting with a letter (e.g. customer-profile)",
      },
      {
        line: 5,
        path: 'entityTypes[0].authority',
        message: "'Customer_Profile' is not valid; expected the one context",
      },
    ],
  ],
  [
    'a name longer than 63 characters',
    yaml(
      `contexts:`,
      `  - name: ${'a'.repeat(64)}`,
      'entityTypes:',
      '  - name: c',
      `    authority: ${'a'.repeat(64)}`,
    ),
    [
      { line: 2, path: 'contexts[0].name', message: 'is longer than 63 characters' },
      { line: 5, path: 'entityTypes[0].authority', message: 'is longer than 63 characters' },
    ],
  ],
  [
    'a staleness bound below one millisecond',
    yaml(...estate, ...billingFlow, '    tier: bounded', '    maxStalenessMs: 0'),
    [{ line: 15, path: 'flows[0].maxStalenessMs', message: 'must be at least 1, got 0' }],
  ],
  [
    'a staleness bound that is not a whole number',
    yaml(...estate, ...billingFlow, '    tier: bounded', '    maxStalenessMs: 1m'),
    [
      {
        line: 15,
        path: 'flows[0].maxStalenessMs',
        message:
          "expected a whole number of milliseconds, how old a local copy may be under the bounded tier (e.g. 60000), got '1m'",
      },
    ],
  ],
  [
    'an unsupported format version',
    yaml('version: 2', ...estate),
    [{ line: 1, path: 'version', message: 'must be 1, got 2; expected the file format version, 1' }],
  ],
  [
    'a decision without requirements',
    yaml(
      ...estate,
      ...billingFlow,
      'decisions:',
      '  - name: bill',
      '    entityType: customer',
      '    requires: []',
    ),
    [
      {
        line: 17,
        path: 'decisions[0].requires',
        message: 'needs at least 1 item; expected a list of readiness requirements, e.g. [applied@billing]',
      },
    ],
  ],
  [
    'a requirement not of the form stage@context',
    yaml(
      ...estate,
      ...billingFlow,
      'decisions:',
      '  - name: bill',
      '    entityType: customer',
      '    requires: [applied-billing]',
    ),
    [
      {
        line: 17,
        path: 'decisions[0].requires[0]',
        message:
          "'applied-billing' is not valid; expected a requirement <stage>@<context> (e.g. applied@billing)",
      },
    ],
  ],
  [
    'a reconciliation interval that is not a duration',
    yaml(...estate, ...billingFlow, 'reconciliation:', '  - flow: to-billing', '    every: 15min'),
    [
      {
        line: 16,
        path: 'reconciliation[0].every',
        message:
          "'15min' is not valid; expected a duration: a whole number and a unit s, m, h or d (e.g. 15m)",
      },
    ],
  ],
  [
    'an empty cron expression',
    yaml(...estate, ...billingFlow, 'reconciliation:', '  - flow: to-billing', "    cron: ''"),
    [{ line: 16, path: 'reconciliation[0].cron', message: 'must not be empty' }],
  ],
];

describe('topology schema', () => {
  it.each(rows)('reports %s', (_title, text, expected) => {
    expect(errorsOf(text)).toEqual(
      expected.map((e) => ({ line: e.line, path: e.path, message: expect.stringContaining(e.message) })),
    );
  });

  it('fills in defaults: version 1, eventual tier, no rules, exception repair, empty descriptions and sections', () => {
    const topology = valid(
      yaml(
        ...estate,
        ...billingFlow,
        'decisions:',
        'reconciliation:',
        '  - flow: to-billing',
        '    every: 1h',
      ),
    );
    expect(topology.version).toBe(1);
    expect(topology.contexts[0]).toEqual({ name: 'profile', description: '' });
    expect(topology.flows[0]).toMatchObject({ tier: 'eventual', rules: [], description: '' });
    expect(topology.flows[0]!.maxStalenessMs).toBeUndefined();
    expect(topology.decisions).toEqual([]);
    expect(topology.calendars).toEqual([]);
    expect(topology.conditions).toEqual([]);
    expect(topology.reconciliation).toEqual([
      { flow: 'to-billing', schedule: { every: '1h', everyMs: 3_600_000 }, repair: 'exception' },
    ]);
  });
});
