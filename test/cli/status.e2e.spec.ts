import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tidemark } from '../support/cli.js';

/** The demo leaves its estate in an embedded database directory; status reads it like an operator would. */
describe('tidemark status', () => {
  let dir: string;
  let db: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tidemark-status-'));
    db = `pglite:${join(dir, 'data')}`;
    const demo = await tidemark([
      'demo',
      '--json',
      '--customers',
      '3',
      '--changes',
      '3',
      '--no-faults',
      '--data-dir',
      join(dir, 'data'),
    ]);
    expect(demo.code).toBe(0);
  }, 180_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const status = (...args: string[]) =>
    tidemark(['status', ...args, '--db', db, '--schema', 'demo_profile'], { cwd: dir });

  it('answers in business words with each decision, using ./tidemark.yaml when present', async () => {
    expect((await tidemark(['init'], { cwd: dir })).code).toBe(0);
    const result = await status('customer/cust-story');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^Customer risk address changed v2 \(accepted [^)]+\): billing uses it from 1 \w+ \(next-billing-cycle\), copy reconciled; policy uses it since \d\d:\d\d; claims uses it since \d\d:\d\d; communications uses it since \d\d:\d\d\.\n/,
    );
    expect(result.stdout).toMatch(
      /v1 CustomerRegistered, customer\.state, customer\.notice — accepted .*, published /,
    );
    expect(result.stdout).toMatch(/Decisions:\n {2}ready {6}send-letter can use/);
    // The demo ends by reconciling Billing, which confirms its copy of this change.
    expect(result.stdout).toMatch(
      /\bready {6}confirm-address-change can use .*billing uses it from .*, copy reconciled/,
    );
  });

  it('--json gives versions, contexts and readiness', async () => {
    const result = await status('customer/cust-story', '--json');
    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout) as {
      latestVersion: number;
      versions: { version: number; contexts: { context: string; stage: string }[] }[];
      decisions: { decision: string; ready: boolean; missing: string[] }[];
    };
    expect(body.latestVersion).toBe(2);
    expect(body.versions[1]!.contexts.map((c) => `${c.context}:${c.stage}`)).toEqual([
      'billing:deferred',
      'policy:applied',
      'claims:applied',
      'communications:applied',
    ]);
    expect(body.decisions.find((d) => d.decision === 'confirm-address-change')).toMatchObject({
      ready: true,
      missing: [],
    });
  });

  it('an unknown entity is "no such entity" with the type list, exit 1', async () => {
    const result = await status('customer/nobody');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no such entity: customer\/nobody .*entity types known here: customer/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('a malformed entity or an invalid topology is a usage error, exit 2, naming the fix or the line', async () => {
    const bad = await status('cust-story');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/"cust-story" is not an entity: write <type>\/<id>/);
    await writeFile(join(dir, 'broken.yaml'), 'version: 1\ncontexts:\n  - name: a\n    bogus: true\n');
    const invalid = await status('customer/cust-story', '--topology', join(dir, 'broken.yaml'));
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/broken\.yaml:\d+/);
  });
});
