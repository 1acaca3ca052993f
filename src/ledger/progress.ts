import type { LedgerStage } from './stages.js';
import type { ContextProgress, TimelineEntry } from './types.js';

/**
 * Stages that mean the change is in effect in the context. `reconciled` is not one of them: it
 * says the context holds the right data, which a deferral may not let it use yet.
 */
const inEffect = new Set<LedgerStage>(['applied', 'settled']);
const waiting = new Set<LedgerStage>(['held', 'deferred', 'blocked']);

/**
 * A deferral that has come due is the change taking effect: the context needs no further
 * action, so the ledger reads it as `applied` at the deferred date.
 */
export function effectiveEntry(entry: TimelineEntry, now: Date): TimelineEntry {
  if (entry.stage !== 'deferred') return entry;
  const until = typeof entry.detail.until === 'string' ? Date.parse(entry.detail.until) : NaN;
  if (!(until <= now.getTime())) return entry;
  return {
    ...entry,
    stage: 'applied',
    at: new Date(until).toISOString(),
    detail: { ...entry.detail, deferred: true },
  };
}

/**
 * Where `context` stands with `version`. A later version counts for an earlier one (it
 * carries or supersedes the earlier change); a rejection or wait only counts for its own version.
 */
export function progressOf(
  entries: readonly TimelineEntry[],
  context: string,
  version: number,
  now: Date,
): ContextProgress {
  const mine = entries
    .filter((e) => e.context === context && e.version >= version)
    .map((e) => effectiveEntry(e, now));
  const first = (match: (e: TimelineEntry) => boolean) =>
    mine.filter(match).sort((a, b) => a.at.localeCompare(b.at))[0];
  const reconciled = first((e) => e.stage === 'reconciled' || e.stage === 'settled');
  const applied = first((e) => inEffect.has(e.stage));
  if (reconciled && applied) {
    return {
      context,
      stage: 'reconciled',
      since: applied.at,
      detail: { ...applied.detail, reconciledAt: reconciled.at },
    };
  }
  if (applied) return { context, stage: 'applied', since: applied.at, detail: applied.detail };
  const own = mine.filter((e) => e.version === version);
  const rejected = own.find((e) => e.stage === 'rejected');
  if (rejected) return { context, stage: 'rejected', since: rejected.at, detail: rejected.detail };
  const confirmed = reconciled ? { reconciledAt: reconciled.at } : {};
  const waits = mine.filter((e) => waiting.has(e.stage)).sort((a, b) => b.at.localeCompare(a.at))[0];
  if (waits)
    return { context, stage: waits.stage, since: waits.at, detail: { ...waits.detail, ...confirmed } };
  // Reconciled with no apply on record (e.g. a copy bootstrapped from a snapshot): it holds the data.
  if (reconciled) return { context, stage: 'reconciled', since: reconciled.at, detail: confirmed };
  const delivered = first(() => true);
  if (delivered) return { context, stage: 'delivered', since: delivered.at, detail: {} };
  return { context, stage: 'pending', detail: {} };
}

/** Whether a context's progress meets a required stage. */
export function meets(progress: ContextProgress, required: string): boolean {
  switch (required) {
    case 'delivered':
      return progress.stage !== 'pending';
    case 'applied':
      return progress.stage === 'applied' || progress.stage === 'reconciled';
    case 'reconciled':
    case 'settled':
      // A deferred (or held) copy can be reconciled: the data is right even if not in use yet.
      return progress.stage === 'reconciled' || typeof progress.detail.reconciledAt === 'string';
    default:
      return false;
  }
}
