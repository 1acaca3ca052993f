import { tidemark as runCli } from '../support/cli.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { starterTopology } from '../../src/topology/index.js';

let dir: string;

const tidemark = (...args: string[]) => runCli(args, { cwd: dir, timeoutMs: 60_000 });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tidemark-topology-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tidemark init and topology check', () => {
  it('init writes the starter tidemark.yaml, and check finds it valid', async () => {
    const init = await tidemark('init');
    expect(init.code).toBe(0);
    expect(init.stdout).toContain(
      'Wrote tidemark.yaml: the insurer estate (5 contexts, 4 flows, 4 decisions)',
    );
    expect(await readFile(join(dir, 'tidemark.yaml'), 'utf8')).toBe(starterTopology);

    const check = await tidemark('topology', 'check');
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('tidemark.yaml is valid.');
    expect(check.stdout).toContain('4 flows (push-state 1, push-domain 2, notify-fetch 1)');
    expect(check.stdout).toContain("backbone: postgres-log 'tidemark'");
  });

  it('check names the chosen backbone, its password hidden', async () => {
    await writeFile(
      join(dir, 'tidemark.yaml'),
      `${starterTopology}backbone:\n  kind: rabbitmq\n  url: amqp://app:s3cret@mq:5672/prod\n  name: orders\n`,
    );
    const check = await tidemark('topology', 'check');
    expect(check.code).toBe(0);
    expect(check.stdout).toContain("backbone: rabbitmq 'orders' at amqp://app:***@mq:5672/prod");
    expect(check.stdout).not.toContain('s3cret');
  });

  it('check --json prints { valid, errors, summary } for a valid file', async () => {
    await tidemark('init', '--file', 'estate.yaml');
    const check = await tidemark('topology', 'check', '--file', 'estate.yaml', '--json');
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout)).toEqual({
      valid: true,
      errors: [],
      summary: {
        contexts: 5,
        entityTypes: 1,
        flows: 4,
        decisions: 4,
        calendars: 2,
        conditions: 2,
        reconciliation: 4,
      },
    });
  });

  it('check exits with 2 and names the file, line, column and path of every error', async () => {
    // Given the starter with a misspelt consumer (line 38) and an unknown strategy (line 49)
    const broken = starterTopology
      .replace('consumer: billing', 'consumer: biling')
      .replace('strategy: push-domain', 'strategy: push-domian');
    await writeFile(join(dir, 'tidemark.yaml'), broken);

    const check = await tidemark('topology', 'check');
    expect(check.code).toBe(2);
    expect(check.stderr).toContain('tidemark: tidemark.yaml is not a valid topology (2 errors):');
    expect(check.stderr).toContain(
      "tidemark.yaml:38:15 flows[0].consumer: context 'biling' is not declared; declared contexts: " +
        "customer-profile, billing, policy, claims, communications — did you mean 'billing'?",
    );
    expect(check.stderr).toMatch(
      /tidemark\.yaml:49:15 flows\[1\]\.strategy: 'push-domian' is not allowed here/,
    );
    expect(check.stderr).toContain('[TM_TOPOLOGY_INVALID]');
    expect(check.stderr).not.toMatch(/at .*\.ts:\d+/);

    const json = await tidemark('topology', 'check', '--json');
    expect(json.code).toBe(2);
    const report = JSON.parse(json.stdout) as { valid: boolean; errors: unknown[]; summary: unknown };
    expect(report.valid).toBe(false);
    expect(report.summary).toBeNull();
    expect(report.errors).toEqual([
      {
        file: 'tidemark.yaml',
        line: 38,
        column: 15,
        path: 'flows[0].consumer',
        message: expect.stringContaining("context 'biling' is not declared"),
      },
      {
        file: 'tidemark.yaml',
        line: 49,
        column: 15,
        path: 'flows[1].strategy',
        message: expect.stringContaining("did you mean 'push-domain'?"),
      },
    ]);
  });

  it('check names a missing file and how to create it', async () => {
    const check = await tidemark('topology', 'check', '--file', 'missing.yaml');
    expect(check.code).toBe(2);
    expect(check.stderr).toContain(
      "topology file 'missing.yaml' does not exist; write a starter with `tidemark init --file missing.yaml`",
    );
    expect(check.stderr).toContain('[TM_TOPOLOGY_NOT_FOUND]');
  });

  it('init refuses to overwrite an existing file without --force, and replaces it with --force', async () => {
    await writeFile(join(dir, 'tidemark.yaml'), '# my own topology\n');

    const refused = await tidemark('init');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      'tidemark: tidemark.yaml already exists and was left unchanged; run `tidemark init --force` to replace it',
    );
    expect(refused.stderr).toContain('[TM_TOPOLOGY_EXISTS]');
    expect(await readFile(join(dir, 'tidemark.yaml'), 'utf8')).toBe('# my own topology\n');

    const refusedJson = await tidemark('init', '--json');
    expect(refusedJson.code).toBe(2);
    expect(JSON.parse(refusedJson.stdout)).toEqual({
      error: { code: 'TM_TOPOLOGY_EXISTS', message: expect.stringContaining('already exists') },
    });

    const forced = await tidemark('init', '--force', '--json');
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout)).toEqual({ file: 'tidemark.yaml', written: true });
    expect(await readFile(join(dir, 'tidemark.yaml'), 'utf8')).toBe(starterTopology);
  });
});
