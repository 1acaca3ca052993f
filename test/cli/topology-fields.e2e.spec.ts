/**
 * `tidemark topology check --schemas <dir>`: the flows' allow-lists checked against the event
 * schemas in the repository, with file:line errors naming the field and the flow.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tidemark as runCli } from '../support/cli.js';

let dir: string;
const tidemark = (...args: string[]) => runCli(args, { cwd: dir, timeoutMs: 60_000 });

const topology = (fields: string, pii = '') =>
  [
    'contexts: [{ name: profile }, { name: billing }]',
    'entityTypes: [{ name: customer, authority: profile }]',
    'flows:',
    '  - name: to-billing',
    '    entityType: customer',
    '    source: profile',
    '    consumer: billing',
    '    strategy: push-state',
    `    fields: ${fields}`,
    ...(pii ? [`    pii: ${pii}`] : []),
    '',
  ].join('\n');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tidemark-topology-fields-'));
  await mkdir(join(dir, 'schemas', 'customer.state'), { recursive: true });
  await writeFile(
    join(dir, 'schemas', 'customer.state', '1.json'),
    JSON.stringify({
      type: 'object',
      properties: {
        customerId: { type: 'string' },
        email: { type: 'string', 'x-pii': true },
        address: { type: 'object', properties: { city: { type: 'string' } } },
      },
    }),
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('tidemark topology check --schemas', () => {
  it('names the line, the flow and the field that no schema declares, and a PII field without opt-in', async () => {
    await writeFile(join(dir, 'tidemark.yaml'), topology('[customerId, adress.city, email]'));
    const check = await tidemark('topology', 'check', '--schemas', 'schemas');
    expect(check.code).toBe(2);
    expect(check.stderr).toContain(
      "tidemark.yaml:9:26 flows[0].fields[1]: flow 'to-billing' allows field 'adress.city', which no registered schema of 'customer' declares (customer.state v1) — did you mean 'address.city'?",
    );
    expect(check.stderr).toContain(
      "tidemark.yaml:9:39 flows[0].fields[2]: flow 'to-billing' allows 'email', which customer.state v1 tags as PII",
    );
    // Without --schemas only the file itself is checked, and it is valid.
    expect((await tidemark('topology', 'check')).code).toBe(0);
  });

  it('passes a list of declared fields whose PII is opted in', async () => {
    await writeFile(join(dir, 'tidemark.yaml'), topology('[customerId, address.city, email]', '[email]'));
    const check = await tidemark('topology', 'check', '--schemas', 'schemas');
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
  });
});
