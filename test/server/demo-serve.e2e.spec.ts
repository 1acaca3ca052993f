import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

describe('tidemark demo --serve', () => {
  it('keeps the estate running behind the control plane on the printed URL until SIGINT', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', main, 'demo', '--customers', '4', '--changes', '4', '--serve', '0', '--json'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const served = await new Promise<{ dashboard: string; operatorToken: string; viewerToken: string }>(
      (resolve, reject) => {
        createInterface({ input: child.stdout }).on('line', (line) => {
          try {
            const parsed = JSON.parse(line) as Record<string, string>;
            if (parsed.dashboard) resolve(parsed as never);
          } catch {
            // not a JSON line
          }
        });
        void exited.then((code) => reject(new Error(`demo exited with ${code}: ${stderr}`)));
      },
    );
    try {
      expect(served.dashboard).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const as = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
      const topology = (await (
        await fetch(`${served.dashboard}api/topology`, as(served.viewerToken))
      ).json()) as {
        contexts: { name: string }[];
      };
      expect(topology.contexts.map((c) => c.name)).toContain('customer-profile');
      const entities = (await (
        await fetch(`${served.dashboard}api/entities?type=customer`, as(served.viewerToken))
      ).json()) as { entities: { entityId: string }[] };
      expect(entities.entities.length).toBeGreaterThanOrEqual(4);
      const me = await (await fetch(`${served.dashboard}api/me`, as(served.operatorToken))).json();
      expect(me).toEqual({ name: 'demo-operator', role: 'operator' });
      // The running relays are reported, with their read horizon (a checkpoint alone has none).
      const relays = (await (
        await fetch(`${served.dashboard}api/relays`, as(served.viewerToken))
      ).json()) as {
        relays: { name: string; horizon?: { held: boolean } }[];
      };
      expect(relays.relays.map((r) => [r.name, r.horizon?.held])).toEqual([
        ['default', false],
        ['communications-stages', false],
      ]);
      // So are the running consumers: their progress as they report it, none stalled.
      const progress = (await (
        await fetch(`${served.dashboard}api/consumers/progress`, as(served.viewerToken))
      ).json()) as {
        consumers: { consumer: string; source: string; stalled: boolean | null; deadLetters: unknown }[];
      };
      expect(
        progress.consumers.map((c) => [c.consumer, c.source, c.stalled, c.deadLetters !== null]).sort(),
      ).toEqual([
        ['billing', 'running', false, true],
        ['claims', 'running', false, true],
        ['communications', 'running', false, true],
        ['policy', 'running', false, true],
      ]);
      const page = await fetch(served.dashboard);
      expect(page.status).toBe(200);
      // The estate is live: a replay an operator asks for is carried out by the running consumer.
      const asked = await fetch(`${served.dashboard}api/consumers/billing/replays`, {
        method: 'POST',
        headers: { authorization: `Bearer ${served.operatorToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'check the live estate', keys: ['customer/cust-0001'] }),
      });
      expect(asked.status).toBe(202);
      const { id } = (await asked.json()) as { id: number };
      await expect
        .poll(
          async () =>
            (
              (await (
                await fetch(
                  `${served.dashboard}api/consumers/billing/operations/${id}`,
                  as(served.viewerToken),
                )
              ).json()) as { status: string }
            ).status,
          { timeout: 30_000, interval: 200 },
        )
        .toBe('done');
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  }, 120_000);
});
