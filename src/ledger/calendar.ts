import { CronExpressionParser } from 'cron-parser';
import { TidemarkError } from '../errors.js';
import type { Topology } from '../topology/model.js';

/**
 * The first occurrence of a topology calendar strictly after `after` (UTC), e.g. the start of
 * the next billing cycle after a change was accepted.
 */
export function nextOccurrence(topology: Topology, calendar: string, after: Date): Date {
  const found = topology.calendars.find((c) => c.name === calendar);
  if (!found?.cron) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `calendar '${calendar}' has no cron expression, so its next occurrence is unknown; ` +
        `give it one in the topology (calendars: - name: ${calendar}, cron: '0 0 1 * *')`,
      { context: { calendar } },
    );
  }
  return CronExpressionParser.parse(found.cron, { currentDate: after, tz: 'UTC' }).next().toDate();
}
