import type { GapHeal, GapHealResult } from '../consumer/gap-healing.js';
import { TidemarkError } from '../errors.js';
import type { Metrics } from './metrics.js';

// A record, so adding a result fails to compile until it is listed here.
const results = Object.keys({
  healed: true,
  'not-found': true,
  failed: true,
  overtaken: true,
} satisfies Record<GapHealResult, true>) as GapHealResult[];

/**
 * A `gapHealing.onHeal` callback for `createConsumer` that counts every heal attempt in
 * `tidemark_consumer_gap_heals_total`. Every result's series starts at 0.
 *
 * @example
 * createConsumer({ name: 'policy', ..., gapHealing: { ..., onHeal: observeGapHeals(metrics, 'policy') } });
 */
export function observeGapHeals(metrics: Metrics, consumer: string): (heal: GapHeal) => void {
  if (typeof consumer !== 'string' || consumer === '') {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `observeGapHeals needs the consumer's name, got ${JSON.stringify(consumer)}`,
    );
  }
  for (const result of results) metrics.consumerGapHeals.inc({ consumer, result }, 0);
  return (heal) => metrics.consumerGapHeals.inc({ consumer, result: heal.result });
}
