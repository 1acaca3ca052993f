import { parseTopology, type Topology } from '../../src/topology/index.js';

/** Joins lines into a YAML text; tests number lines by their position in the call. */
export const yaml = (...lines: string[]): string => `${lines.join('\n')}\n`;

/** The errors of a text as { line, path, message }, in the order the parser reports them. */
export function errorsOf(text: string) {
  return parseTopology(text, 'test.yaml').errors.map(({ line, path, message }) => ({ line, path, message }));
}

export function valid(text: string): Topology {
  const result = parseTopology(text, 'test.yaml');
  if (!result.valid)
    throw new Error(`expected a valid topology, got:\n${JSON.stringify(result.errors, null, 2)}`);
  return result.topology;
}

/** Lines 1-7 of most fixtures: three contexts and one entity type owned by `profile`. */
export const estate = [
  'contexts:', // 1
  '  - name: profile', // 2
  '  - name: billing', // 3
  '  - name: claims', // 4
  'entityTypes:', // 5
  '  - name: customer', // 6
  '    authority: profile', // 7
] as const;

/** Lines 8-13 when appended to {@link estate}: one push-state flow to billing. */
export const billingFlow = [
  'flows:', // 8
  '  - name: to-billing', // 9
  '    entityType: customer', // 10
  '    source: profile', // 11
  '    consumer: billing', // 12
  '    strategy: push-state', // 13
] as const;
