import type { ContextProgress, EntityStatus } from '../types.js';

/** What a consistency badge shows: a state for its colour and a few words. */
export interface BadgeSummary {
  readonly state: 'current' | 'ready' | 'pending' | 'held' | 'unknown';
  readonly text: string;
  readonly version: number;
}

const words = (text: string) => text.replace(/[-_]+/g, ' ').trim();
const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
const inEffect = (p: ContextProgress) => p.stage === 'applied' || p.stage === 'reconciled';

/** `held: under review`, `pending in billing (next billing cycle)`, `blocked in claims: investigation open`. */
function sayWaiting(p: ContextProgress): string {
  const d = p.detail;
  switch (p.stage) {
    case 'held':
      return `held: ${words(str(d.reason) ?? str(d.state) ?? 'under review')} (${p.context})`;
    case 'deferred':
      return `pending in ${p.context} (${words(str(d.calendar) ?? 'later date')})`;
    case 'blocked':
      return `blocked in ${p.context}${str(d.reason) ? `: ${str(d.reason)}` : ''}`;
    case 'rejected':
      return `rejected in ${p.context}${str(d.reason) ? `: ${str(d.reason)}` : ''}`;
    default:
      return `pending in ${p.context}`;
  }
}

const waitingOrder = ['held', 'blocked', 'rejected', 'deferred', 'delivered', 'pending'];

/**
 * The badge of an entity's latest version: `up to date everywhere` when every context uses it,
 * else the first context that waits and why. With `decision`, only the contexts the decision
 * needs count: `ready for send-letter` when it may use the change.
 */
export function badgeSummary(status: EntityStatus, decision?: string): BadgeSummary {
  const latest = status.versions.find((v) => v.version === status.latestVersion);
  const version = status.latestVersion;
  if (!latest) return { state: 'unknown', text: 'no change known', version };
  const everywhere = latest.contexts.length > 0 && latest.contexts.every(inEffect);
  if (everywhere) return { state: 'current', text: 'up to date everywhere', version };
  let considered = latest.contexts.filter((p) => !inEffect(p));
  if (decision !== undefined) {
    const readiness = status.decisions.find((d) => d.decision === decision);
    if (!readiness) return { state: 'unknown', text: `no decision ${decision}`, version };
    if (readiness.ready) return { state: 'ready', text: `ready for ${decision}`, version };
    const needed = new Set(readiness.missing.map((m) => m.slice(m.indexOf('@') + 1)));
    considered = considered.filter((p) => needed.has(p.context));
    if (considered.length === 0 && readiness.waitsUntil) {
      return { state: 'pending', text: `pending until ${readiness.waitsUntil.slice(0, 10)}`, version };
    }
  }
  const first = [...considered].sort(
    (a, b) => waitingOrder.indexOf(a.stage) - waitingOrder.indexOf(b.stage),
  )[0];
  if (!first) return { state: 'pending', text: 'pending', version };
  return {
    state: ['held', 'blocked', 'rejected'].includes(first.stage) ? 'held' : 'pending',
    text: sayWaiting(first),
    version,
  };
}
