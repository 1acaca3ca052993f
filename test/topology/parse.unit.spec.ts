/**
 * The loader (src/topology/parse.ts): YAML-level errors, positions (line and column), the
 * error format, and that every error of a file comes back at once.
 */
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  formatTopologyError,
  parseTopology,
  TopologyInvalidError,
  starterTopology,
} from '../../src/topology/index.js';
import { isTidemarkError } from '../../src/errors.js';
import { billingFlow, estate, yaml } from './helpers.js';

const errors = (text: string, file = 'estate.yaml') => parseTopology(text, file).errors;

describe('parseTopology', () => {
  it('names the file, line and column of a YAML syntax error', () => {
    const text = yaml('contexts:', '  - name: profile', '   bad: [1, 2', 'entityTypes: []');
    const found = errors(text);
    // Then each syntax error is reported where the YAML parser found it, and nothing else is checked
    expect(found).toEqual([
      {
        file: 'estate.yaml',
        line: 3,
        column: 1,
        path: '',
        message: 'YAML syntax: Sequence item without - indicator; fix the YAML and check again',
      },
      expect.objectContaining({
        line: 4,
        column: 1,
        message: expect.stringMatching(/^YAML syntax: Flow sequence/),
      }),
    ]);
  });

  it('reports a key given twice in one mapping at the second occurrence', () => {
    const text = yaml(...estate, ...billingFlow, '    consumer: claims');
    expect(errors(text)).toEqual([
      {
        file: 'estate.yaml',
        line: 14,
        column: 5,
        path: '',
        message: 'YAML syntax: Map keys must be unique; fix the YAML and check again',
      },
    ]);
  });

  it('reports a second document in the file', () => {
    const text = yaml(...estate, '---', 'contexts: []');
    expect(errors(text)).toEqual([
      expect.objectContaining({ line: 8, column: 1, message: expect.stringContaining('multiple documents') }),
    ]);
  });

  it('reports an empty file (only comments) and points to tidemark init', () => {
    expect(errors('# nothing yet\n')).toEqual([
      {
        file: 'estate.yaml',
        line: 1,
        column: 1,
        path: '',
        message:
          'the file is empty; declare contexts, entityTypes and flows (`tidemark init` writes a commented starter file)',
      },
    ]);
  });

  it('reports a document that is not a mapping', () => {
    expect(errors('- billing\n- claims\n')).toEqual([
      {
        file: 'estate.yaml',
        line: 1,
        column: 1,
        path: '',
        message:
          'expected a mapping with contexts, entityTypes, flows, decisions, calendars, conditions, reconciliation, backbone, got a list',
      },
    ]);
  });

  it('refuses an alias bomb instead of expanding it', () => {
    const bomb = yaml(
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
    );
    expect(errors(bomb)).toEqual([
      expect.objectContaining({
        line: 1,
        column: 1,
        message: expect.stringMatching(/^cannot read the document: /),
      }),
    ]);
  });

  it('points at the column of the offending value', () => {
    const text = yaml(...estate, ...billingFlow.slice(0, 4), '    consumer: biling', ...billingFlow.slice(5));
    expect(errors(text)).toEqual([
      expect.objectContaining({ line: 12, column: 15, path: 'flows[0].consumer' }),
    ]);
  });

  it('returns every error of the file, sorted by line and column', () => {
    const text = yaml(
      'contexts:',
      '  - name: profile',
      '  - name: Billing', // 3: pattern
      'entityTypes:',
      '  - name: customer',
      '    authority: profile',
      '    owner: profile', // 7: unknown field
      ...billingFlow.slice(0, 4),
      '    consumer: claims', // 12: undeclared context
      '    strategy: push', // 13: enum
    );
    expect(errors(text).map((e) => `${e.line}:${e.column} ${e.path}`)).toEqual([
      '3:11 contexts[1].name',
      '7:5 entityTypes[0].owner',
      '12:15 flows[0].consumer',
      '13:15 flows[0].strategy',
    ]);
  });

  it('formats an error as file:line:column path: message', () => {
    const [error] = errors(
      yaml(...estate, ...billingFlow.slice(0, 4), '    consumer: biling', ...billingFlow.slice(5)),
    );
    expect(formatTopologyError(error!)).toBe(
      "estate.yaml:12:15 flows[0].consumer: context 'biling' is not declared; declared contexts: profile, " +
        "billing, claims — did you mean 'billing'?",
    );
    expect(formatTopologyError({ file: 'f.yaml', line: 1, column: 1, path: '', message: 'm' })).toBe(
      'f.yaml:1:1: m',
    );
  });

  it('returns a frozen, typed topology for a valid file', () => {
    const result = parseTopology(starterTopology);
    expect(result.valid).toBe(true);
    if (!result.valid) return;
    const { topology } = result;
    expect(Object.isFrozen(topology)).toBe(true);
    expect(Object.isFrozen(topology.flows)).toBe(true);
    expect(Object.isFrozen(topology.flows[0]!.rules[0])).toBe(true);
    expect(Object.isFrozen(topology.decisions[0]!.requires)).toBe(true);
    expect(() => (topology.flows as unknown as unknown[]).push({})).toThrow(TypeError);
  });

  it('never throws, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        expect(typeof parseTopology(text).valid).toBe('boolean');
      }),
    );
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(typeof parseTopology(stringify(value)).valid).toBe('boolean');
      }),
    );
  });
});

describe('TopologyInvalidError', () => {
  it('carries every error and lists them one per line in its message', () => {
    const found = errors(yaml('contexts: profile', 'entityTypes: []'));
    const error = new TopologyInvalidError('estate.yaml', found);
    expect(isTidemarkError(error, 'TM_TOPOLOGY_INVALID')).toBe(true);
    expect(error.status).toBe(422);
    expect(error.errors).toBe(found);
    expect(error.message.split('\n')).toEqual([
      'estate.yaml is not a valid topology (2 errors):',
      `  ${formatTopologyError(found[0]!)}`,
      `  ${formatTopologyError(found[1]!)}`,
      'Fix them and check again: tidemark topology check --file estate.yaml',
    ]);
  });
});
