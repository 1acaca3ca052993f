import { createRelay } from '../../src/relay/index.js';
import { progress } from '../lib/log.js';
import { round } from '../lib/stats.js';
import type { Target } from '../lib/targets.js';
import type { BackboneKind } from './kinds.js';
import { preload } from './preload.js';
import type { BackboneSettings } from './settings.js';

export interface DrainFigures {
  readonly events: number;
  readonly batchSize: number;
  /** Events found in the backbone afterwards: fewer than `events` means the relay skipped some. */
  readonly moved: number;
  readonly seconds: number;
  readonly eventsPerSec: number;
}

/** (a) The relay draining a pre-appended backlog of `events` outbox rows into one backbone. */
export async function measureDrain(
  target: Target,
  kind: BackboneKind,
  settings: BackboneSettings,
): Promise<DrainFigures> {
  const { schema, drop } = await target.freshSchema('bbdrain');
  const db = await target.connect(settings.clients, 'relay');
  const backbones = kind.create(schema, settings.partitions, ['tally']);
  try {
    await preload(db, schema, settings.events, settings.entities, settings.clients);
    await db.query(`VACUUM ANALYZE "${schema}".outbox`);
    progress(`  ${kind.key}: ${settings.events} events pre-appended; relay drain`);
    const backbone = await backbones.open(db);
    const relay = createRelay({ db, backbone, schema, batchSize: settings.batchSize });
    const started = performance.now();
    await relay.drain();
    const ms = performance.now() - started;
    const moved = await backbones.count(db);
    if (moved !== settings.events) progress(`  the relay left ${settings.events - moved} events behind`);
    return {
      events: settings.events,
      batchSize: settings.batchSize,
      moved,
      seconds: round(ms / 1000, 2),
      eventsPerSec: round((moved / ms) * 1000, 0),
    };
  } finally {
    await backbones.dispose();
    await db.close();
    await drop();
  }
}
