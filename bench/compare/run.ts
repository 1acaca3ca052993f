import { progress } from '../lib/log.js';
import type { Target } from '../lib/targets.js';
import { backboneKinds } from '../backbone/kinds.js';
import type { Contender } from './contender.js';
import { emmettContender } from './emmett.js';
import { naiveOutbox } from './naive-outbox.js';
import { ensurePeers } from './peers.js';
import { pgBossContender } from './pg-boss.js';
import { bareTps, runPhase, type Inspect, type Offer, type PhaseFigures, type Workload } from './phase.js';
import { tidemarkContender } from './tidemark.js';

export interface CompareSettings extends Workload {
  /** Events of the burst phase, per contender. */
  readonly events: number;
  /** Offered rate of the fixed-rate latency phase, events per second. */
  readonly rate: number;
  /** Events of each paced phase (capped at `events`). */
  readonly pacedEvents: number;
  /** Also run a paced phase at 80 % of the contender's burst throughput. */
  readonly atEightyPercent: boolean;
  /** Only these contenders (keys); all when absent. */
  readonly only?: readonly string[];
}

export function compareSettings(events: number | undefined, quick: boolean): CompareSettings {
  const n = events ?? (quick ? 2_000 : 100_000);
  return {
    keys: 1_000,
    payloadBytes: 1_024,
    clients: 4,
    events: n,
    rate: 1_000,
    pacedEvents: Math.min(n, quick ? 2_000 : 10_000),
    atEightyPercent: true,
  };
}

export interface ContenderFigures {
  readonly key: string;
  readonly label: string;
  /** Why it did not run (peer not installable, or it failed), else undefined. */
  readonly skipped?: string;
  readonly burst?: PhaseFigures;
  readonly atRate?: PhaseFigures;
  readonly atEighty?: PhaseFigures;
}

export interface CompareFigures {
  readonly settings: CompareSettings;
  readonly bareTps: number;
  readonly contenders: readonly ContenderFigures[];
}

export const allContenders: readonly Contender[] = [
  // The two backbones the comparison was designed around; `bench backbone` measures them all.
  ...backboneKinds
    .filter((k) => k.key === 'postgres-log' || k.key === 'nats-jetstream')
    .map(tidemarkContender),
  naiveOutbox,
  emmettContender,
  pgBossContender,
];

const isPeer = (c: Contender) => c === emmettContender || c === pgBossContender;

/** Runs every contender, one after another, through the same phases on the same server. */
export async function runComparison(
  target: Target & { connectionString: string },
  settings: CompareSettings,
  inspect?: (contender: string, phase: string) => Inspect | undefined,
): Promise<CompareFigures> {
  const env = {
    connectionString: target.connectionString,
    admin: await target.connect(1, 'compare-admin'),
    connect: (max: number, role: string) => target.connect(max, role),
    freshSchema: () => target.freshSchema('cmp'),
  };
  try {
    const contenders = allContenders.filter((c) => !settings.only || settings.only.includes(c.key));
    const peersMissing = contenders.some(isPeer) ? await ensurePeers() : undefined;
    progress(`compare: bare business transaction, ${Math.min(settings.events, 10_000)} transactions`);
    const bare = await bareTps(env, settings, Math.min(settings.events, 10_000));
    const results: ContenderFigures[] = [];
    for (const contender of contenders) {
      const base = { key: contender.key, label: contender.label };
      if (isPeer(contender) && peersMissing) {
        results.push({ ...base, skipped: peersMissing });
        continue;
      }
      const phase = (name: string, offer: Offer) => {
        progress(`compare: ${contender.key} ${name}`);
        return runPhase(contender, env, settings, offer, inspect?.(contender.key, name));
      };
      try {
        const burst = await phase(`burst of ${settings.events}`, { kind: 'burst', events: settings.events });
        const paced = Math.min(settings.pacedEvents, settings.events);
        const atRate = await phase(`paced at ${settings.rate} ev/s`, {
          kind: 'paced',
          rate: settings.rate,
          events: paced,
        });
        const eighty = Math.max(1, Math.round(burst.appliedPerSec * 0.8));
        const atEighty = settings.atEightyPercent
          ? await phase(`paced at ${eighty} ev/s (80 %)`, {
              kind: 'paced',
              rate: eighty,
              events: Math.min(paced, eighty * 10),
            })
          : undefined;
        results.push({ ...base, burst, atRate, ...(atEighty ? { atEighty } : {}) });
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        progress(`compare: ${contender.key} failed: ${reason}`);
        results.push({ ...base, skipped: `failed: ${reason}` });
      }
    }
    return { settings, bareTps: bare, contenders: results };
  } finally {
    await env.admin.close();
  }
}
