/**
 * The semantic checks (src/topology/check.ts), one row per message: a small topology, and the
 * exact errors it gets — line, path and the distinctive part of the message. Every row also
 * asserts that nothing else is reported.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkTopology } from '../../src/topology/index.js';
import { billingFlow, errorsOf, estate, yaml } from './helpers.js';

interface Expected {
  readonly line: number;
  readonly path: string;
  readonly message: string;
}

const flowWith = (...extra: string[]) => yaml(...estate, ...billingFlow, ...extra);
/** A flow of `customer` to `claims` named `second`, starting at line 14 after estate + billingFlow. */
const secondFlow = (consumer: string, strategy = 'push-domain', name = 'second') => [
  `  - name: ${name}`, // 14
  '    entityType: customer', // 15
  '    source: profile', // 16
  `    consumer: ${consumer}`, // 17
  `    strategy: ${strategy}`, // 18
];

const rows: [string, string, Expected[]][] = [
  // ── names ────────────────────────────────────────────────────────────────────────────
  [
    'a context declared twice',
    yaml(
      'contexts:',
      '  - name: profile',
      '  - name: profile',
      'entityTypes:',
      '  - name: c',
      '    authority: profile',
    ),
    [
      {
        line: 3,
        path: 'contexts[1].name',
        message:
          "context 'profile' is already declared at contexts[0]; names must be unique: rename or remove one of them",
      },
    ],
  ],
  [
    'an entity type declared twice with the same authority',
    yaml(...estate, '  - name: customer', '    authority: profile'),
    [
      {
        line: 8,
        path: 'entityTypes[1].name',
        message: "entity type 'customer' is already declared at entityTypes[0]; remove one of them",
      },
    ],
  ],
  [
    'two authorities for one entity type',
    yaml(...estate, '  - name: customer', '    authority: billing'),
    [
      {
        line: 9,
        path: 'entityTypes[1].authority',
        message:
          "entity type 'customer' already has authority 'profile' (entityTypes[0]); an entity type has exactly one " +
          "authority: remove this entry, or let 'billing' consume 'customer' through a flow",
      },
    ],
  ],
  [
    'an authority that is not a declared context',
    yaml(...estate.slice(0, 6), '    authority: profle'),
    [
      {
        line: 7,
        path: 'entityTypes[0].authority',
        message:
          "context 'profle' is not declared; declared contexts: profile, billing, claims — did you mean 'profile'?",
      },
    ],
  ],
  [
    'a flow declared twice under one name',
    flowWith(...secondFlow('claims', 'push-domain', 'to-billing')),
    [
      {
        line: 14,
        path: 'flows[1].name',
        message: "flow 'to-billing' is already declared at flows[0]",
      },
    ],
  ],
  // ── flows ────────────────────────────────────────────────────────────────────────────
  [
    'a flow of an unknown entity type',
    yaml(...estate, ...billingFlow.slice(0, 2), '    entityType: custmer', ...billingFlow.slice(3)),
    [
      {
        line: 10,
        path: 'flows[0].entityType',
        message:
          "entity type 'custmer' is not declared; declared entity types: customer — did you mean 'customer'?",
      },
    ],
  ],
  [
    'a flow from an unknown context',
    yaml(...estate, ...billingFlow.slice(0, 3), '    source: nowhere', ...billingFlow.slice(4)),
    [
      {
        line: 11,
        path: 'flows[0].source',
        message:
          "context 'nowhere' is not declared; declared contexts: profile, billing, claims — declare 'nowhere' " +
          'under contexts, or use one of those',
      },
    ],
  ],
  [
    'a flow to an unknown context',
    yaml(...estate, ...billingFlow.slice(0, 4), '    consumer: biling', ...billingFlow.slice(5)),
    [
      {
        line: 12,
        path: 'flows[0].consumer',
        message:
          "context 'biling' is not declared; declared contexts: profile, billing, claims — did you mean 'billing'?",
      },
    ],
  ],
  [
    "a flow whose source is not the entity type's authority",
    yaml(...estate, ...billingFlow.slice(0, 3), '    source: claims', ...billingFlow.slice(4)),
    [
      {
        line: 11,
        path: 'flows[0].source',
        message:
          "'claims' is not the authority of 'customer', so it cannot be the source of its flows; the authority " +
          "is 'profile': set source: profile",
      },
    ],
  ],
  [
    'a flow that points back to its authority',
    yaml(...estate, ...billingFlow.slice(0, 4), '    consumer: profile', ...billingFlow.slice(5)),
    [
      {
        line: 12,
        path: 'flows[0].consumer',
        message: "'profile' is the authority of 'customer'; a flow carries an entity type from its authority",
      },
    ],
  ],
  [
    'two flows of one entity type to one consumer',
    flowWith(...secondFlow('billing')),
    [
      {
        line: 17,
        path: 'flows[1].consumer',
        message:
          "flows[0] (to-billing) already brings 'customer' to 'billing'; one flow per entity type and consumer",
      },
    ],
  ],
  [
    'the bounded tier without maxStalenessMs',
    flowWith('    tier: bounded'),
    [
      {
        line: 14,
        path: 'flows[0].tier',
        message:
          "tier 'bounded' needs maxStalenessMs, how old a local copy may be before a read fetches: add",
      },
    ],
  ],
  [
    'maxStalenessMs on a tier other than bounded',
    flowWith('    tier: strong', '    maxStalenessMs: 5000'),
    [
      {
        line: 15,
        path: 'flows[0].maxStalenessMs',
        message: "maxStalenessMs applies only to tier 'bounded', and this flow is 'strong'",
      },
    ],
  ],
  // ── consumer rules ───────────────────────────────────────────────────────────────────
  [
    'a rule of no kind',
    flowWith('    rules:', '      - description: wait a bit'),
    [
      {
        line: 15,
        path: 'flows[0].rules[0]',
        message:
          "a rule needs one of 'hold: <held state>', 'deferred-until: <calendar>' or 'blocked-when: <condition>'",
      },
    ],
  ],
  [
    'a rule of two kinds',
    flowWith(
      '    rules:',
      '      - hold: under-review', // 15
      '        blocked-when: investigation-open',
      'conditions:',
      '  - name: investigation-open',
    ),
    [
      {
        line: 15,
        path: 'flows[0].rules[0]',
        message: 'a rule has exactly one kind, this one has hold and blocked-when: split it into 2 rules',
      },
    ],
  ],
  [
    "'when' on a rule that is not a hold",
    flowWith(
      '    rules:',
      '      - blocked-when: investigation-open',
      '        when: investigation-open', // 16
      'conditions:',
      '  - name: investigation-open',
    ),
    [
      {
        line: 16,
        path: 'flows[0].rules[0].when',
        message:
          "'when' qualifies only a hold rule; remove it from this blocked-when rule (blocked-when already names its condition)",
      },
    ],
  ],
  [
    'a deferral until an unknown calendar',
    flowWith(
      '    rules:',
      '      - deferred-until: next-biling-cycle', // 15
      'calendars:',
      '  - name: next-billing-cycle',
    ),
    [
      {
        line: 15,
        path: 'flows[0].rules[0].deferred-until',
        message:
          "calendar 'next-biling-cycle' is not declared; declared calendars: next-billing-cycle — did you mean 'next-billing-cycle'?",
      },
    ],
  ],
  [
    'a block on an unknown condition',
    flowWith('    rules:', '      - blocked-when: investigation-open'),
    [
      {
        line: 15,
        path: 'flows[0].rules[0].blocked-when',
        message:
          "condition 'investigation-open' is not declared; declared conditions: none — declare 'investigation-open' under conditions",
      },
    ],
  ],
  [
    'a hold on an unknown condition',
    flowWith('    rules:', '      - hold: under-review', '        when: risk-moved'),
    [
      {
        line: 16,
        path: 'flows[0].rules[0].when',
        message: "condition 'risk-moved' is not declared; declared conditions: none",
      },
    ],
  ],
  [
    'consumer rules on a pull flow',
    yaml(
      ...estate,
      ...billingFlow.slice(0, 5),
      '    strategy: pull',
      '    rules:',
      '      - hold: under-review',
    ),
    [
      {
        line: 15,
        path: 'flows[0].rules',
        message:
          'a pull flow keeps no copy and applies nothing, so consumer rules cannot hold, defer or block anything',
      },
    ],
  ],
  // ── decisions ────────────────────────────────────────────────────────────────────────
  [
    'a decision declared twice',
    flowWith(
      'decisions:',
      '  - name: send-letter',
      '    entityType: customer',
      '    requires: [applied@billing]',
      '  - name: send-letter', // 18
      '    entityType: customer',
      '    requires: [applied@billing]',
    ),
    [
      {
        line: 18,
        path: 'decisions[1].name',
        message: "decision 'send-letter' is already declared at decisions[0]",
      },
    ],
  ],
  [
    'a decision about an unknown entity type',
    flowWith(
      'decisions:',
      '  - name: send-letter',
      '    entityType: client',
      '    requires: [applied@billing]',
    ),
    [
      {
        line: 16,
        path: 'decisions[0].entityType',
        message: "entity type 'client' is not declared; declared entity types: customer",
      },
    ],
  ],
  [
    'a requirement with an unknown stage',
    flowWith(
      'decisions:',
      '  - name: send-letter',
      '    entityType: customer',
      '    requires: [aplied@billing]',
    ),
    [
      {
        line: 17,
        path: 'decisions[0].requires[0]',
        message:
          "'aplied' is not a maturity stage; stages: accepted, validated, published, delivered, applied, " +
          "reconciled, settled — did you mean 'applied'?",
      },
    ],
  ],
  [
    'a requirement at an unknown context',
    flowWith(
      'decisions:',
      '  - name: send-letter',
      '    entityType: customer',
      '    requires: [applied@biling]',
    ),
    [
      {
        line: 17,
        path: 'decisions[0].requires[0]',
        message:
          "context 'biling' is not declared; declared contexts: profile, billing, claims — did you mean 'billing'?",
      },
    ],
  ],
  [
    'a requirement listed twice',
    flowWith(
      'decisions:',
      '  - name: send-letter',
      '    entityType: customer',
      '    requires:',
      '      - applied@billing',
      '      - applied@billing', // 19
    ),
    [
      {
        line: 19,
        path: 'decisions[0].requires[1]',
        message: "'applied@billing' is already required at decisions[0].requires[0]: remove one",
      },
    ],
  ],
  [
    'an authority stage required at a consumer',
    flowWith(
      'decisions:',
      '  - name: send-letter',
      '    entityType: customer',
      '    requires: [published@billing]',
    ),
    [
      {
        line: 17,
        path: 'decisions[0].requires[0]',
        message:
          "'published' is reached at the authority of 'customer', which is 'profile', not 'billing': write published@profile",
      },
    ],
  ],
  [
    'a consumer stage required at the authority',
    flowWith(
      'decisions:',
      '  - name: send-letter',
      '    entityType: customer',
      '    requires: [applied@profile]',
    ),
    [
      {
        line: 17,
        path: 'decisions[0].requires[0]',
        message:
          "'profile' is the authority of 'customer' and does not consume it, so it never reaches 'applied': " +
          'require accepted, validated, published at profile, or applied at a consumer (billing)',
      },
    ],
  ],
  [
    'a stage at a context that never receives the entity type',
    flowWith(
      'decisions:',
      '  - name: pay-claim',
      '    entityType: customer',
      '    requires: [applied@claims]',
    ),
    [
      {
        line: 17,
        path: 'decisions[0].requires[0]',
        message:
          "'claims' never receives 'customer' (no flow brings it there), so it never reaches 'applied'; contexts " +
          "that receive 'customer': billing: add a flow to 'claims' or require another context",
      },
    ],
  ],
  [
    'a stage at a context that reads by pull',
    flowWith(
      ...secondFlow('claims', 'pull'),
      'decisions:',
      '  - name: pay-claim',
      '    entityType: customer',
      '    requires: [applied@claims]', // 22
    ),
    [
      {
        line: 22,
        path: 'decisions[0].requires[0]',
        message: "'claims' reads 'customer' by pull and keeps no copy, so it never reaches 'applied'",
      },
    ],
  ],
  [
    'reconciled required of a flow without a reconciliation schedule',
    flowWith(
      'decisions:',
      '  - name: audit',
      '    entityType: customer',
      '    requires: [reconciled@billing]',
    ),
    [
      {
        line: 17,
        path: 'decisions[0].requires[0]',
        message:
          "'reconciled@billing' needs a reconciliation schedule for flow 'to-billing': add { flow: to-billing, " +
          'every: 15m, repair: republish } under reconciliation',
      },
    ],
  ],
  [
    'a cut-off on an unknown calendar',
    flowWith(
      'decisions:',
      '  - name: bill',
      '    entityType: customer',
      '    requires: [applied@billing]',
      '    cutOff: billing-cutoff', // 18
      'calendars:',
      '  - name: billing-cut-off',
    ),
    [
      {
        line: 18,
        path: 'decisions[0].cutOff',
        message:
          "calendar 'billing-cutoff' is not declared; declared calendars: billing-cut-off — did you mean 'billing-cut-off'?",
      },
    ],
  ],
  // ── calendars and conditions ─────────────────────────────────────────────────────────
  [
    'a calendar declared twice',
    flowWith('calendars:', '  - name: cycle', '  - name: cycle'),
    [
      {
        line: 16,
        path: 'calendars[1].name',
        message: "calendar 'cycle' is already declared at calendars[0]",
      },
    ],
  ],
  [
    'a condition declared twice',
    flowWith('conditions:', '  - name: frozen', '  - name: frozen'),
    [
      {
        line: 16,
        path: 'conditions[1].name',
        message: "condition 'frozen' is already declared at conditions[0]",
      },
    ],
  ],
  [
    'a calendar cron with the wrong number of fields',
    flowWith('calendars:', '  - name: cycle', "    cron: '0 0 1 *'"),
    [
      {
        line: 16,
        path: 'calendars[0].cron',
        message:
          "'0 0 1 *' has 4 fields; a cron expression has five: minute hour day-of-month month day-of-week, e.g. '0 2 * * *'",
      },
    ],
  ],
  [
    'a calendar cron with a value out of range',
    flowWith('calendars:', '  - name: cycle', "    cron: '0 25 1 * *'"),
    [
      {
        line: 16,
        path: 'calendars[0].cron',
        message:
          "'0 25 1 * *': hour '25' is not valid; use a number from 0 to 23, a range a-b, a list a,b, '*' or a step",
      },
    ],
  ],
  // ── reconciliation ───────────────────────────────────────────────────────────────────
  [
    'a schedule for an unknown flow',
    flowWith('reconciliation:', '  - flow: to-biling', '    every: 15m'),
    [
      {
        line: 15,
        path: 'reconciliation[0].flow',
        message: "flow 'to-biling' is not declared; declared flows: to-billing — did you mean 'to-billing'?",
      },
    ],
  ],
  [
    'two schedules for one flow',
    flowWith(
      'reconciliation:',
      '  - flow: to-billing',
      '    every: 15m',
      '  - flow: to-billing',
      '    every: 1h',
    ),
    [
      {
        line: 17,
        path: 'reconciliation[1].flow',
        message:
          "flow 'to-billing' already has a schedule at reconciliation[0]; one schedule per flow: keep one of them",
      },
    ],
  ],
  [
    'a schedule with neither every nor cron',
    flowWith('reconciliation:', '  - flow: to-billing', '    repair: republish'),
    [
      {
        line: 15,
        path: 'reconciliation[0]',
        message:
          "a schedule needs 'every' (e.g. every: 15m) or 'cron' (e.g. cron: '*/15 * * * *'): add one of them",
      },
    ],
  ],
  [
    'a schedule with both every and cron',
    flowWith('reconciliation:', '  - flow: to-billing', '    every: 15m', "    cron: '0 * * * *'"),
    [
      {
        line: 17,
        path: 'reconciliation[0].cron',
        message: "a schedule has either 'every' or 'cron', not both: remove one of them",
      },
    ],
  ],
  [
    'a schedule with a malformed cron',
    flowWith('reconciliation:', '  - flow: to-billing', "    cron: '*/0 * * * *'"),
    [
      {
        line: 16,
        path: 'reconciliation[0].cron',
        message: "'*/0 * * * *': minute '*/0' is not valid; use a number from 0 to 59",
      },
    ],
  ],
  [
    'a schedule for a pull flow',
    yaml(
      ...estate,
      ...billingFlow.slice(0, 5),
      '    strategy: pull',
      'reconciliation:',
      '  - flow: to-billing',
      '    every: 1h',
    ),
    [
      {
        line: 15,
        path: 'reconciliation[0].flow',
        message:
          "flow 'to-billing' uses pull and keeps no copy, so there is nothing to reconcile: remove this schedule",
      },
    ],
  ],
];

describe('topology semantic checks', () => {
  it.each(rows)('reports %s', (_title, text, expected) => {
    expect(errorsOf(text)).toEqual(
      expected.map((e) => ({ line: e.line, path: e.path, message: expect.stringContaining(e.message) })),
    );
  });

  it('does not claim a context never receives an entity type while a flow to an undeclared context is unresolved', () => {
    // Given a flow whose consumer is misspelt, and a decision that needs the intended context
    const text = yaml(
      ...estate,
      ...billingFlow.slice(0, 4),
      '    consumer: biling', // 12
      ...billingFlow.slice(5),
      'decisions:',
      '  - name: bill',
      '    entityType: customer',
      '    requires: [applied@billing]',
    );
    // Then only the typo is reported, not a follow-on "billing never receives customer"
    expect(errorsOf(text)).toEqual([
      { line: 12, path: 'flows[0].consumer', message: expect.stringContaining("did you mean 'billing'?") },
    ]);
  });

  it('checks no references against a section that is not a list', () => {
    const text = yaml('contexts: profile', 'entityTypes:', '  - name: customer', '    authority: profile');
    expect(errorsOf(text)).toEqual([
      {
        line: 1,
        path: 'contexts',
        message: "expected a list of contexts, e.g. - name: billing, got 'profile'",
      },
    ]);
  });

  it('reports every error of a file in one pass, in line order', () => {
    const text = yaml(
      ...estate.slice(0, 6),
      '    authority: profle', // 7
      ...billingFlow.slice(0, 4),
      '    consumer: biling', // 12
      '    strategy: push-stat', // 13
      '    tier: bounded', // 14
    );
    expect(errorsOf(text).map((e) => [e.line, e.path])).toEqual([
      [7, 'entityTypes[0].authority'],
      [12, 'flows[0].consumer'],
      [13, 'flows[0].strategy'],
      [14, 'flows[0].tier'],
    ]);
  });

  it('is a pure function that never throws, whatever the document', () => {
    fc.assert(
      fc.property(fc.anything(), (doc) => {
        expect(Array.isArray(checkTopology(doc))).toBe(true);
      }),
    );
    fc.assert(
      fc.property(
        fc.record({
          contexts: fc.array(fc.record({ name: fc.oneof(fc.string(), fc.integer()) })),
          entityTypes: fc.array(fc.record({ name: fc.string(), authority: fc.anything() })),
          flows: fc.array(
            fc.dictionary(fc.constantFrom('name', 'entityType', 'consumer', 'rules'), fc.anything()),
          ),
          decisions: fc.array(fc.record({ entityType: fc.string(), requires: fc.array(fc.string()) })),
        }),
        (doc) => {
          expect(Array.isArray(checkTopology(doc))).toBe(true);
        },
      ),
    );
  });
});
