import type { EventKind } from '../envelope/types.js';

/**
 * What to do with an event given the version this consumer already applied for its entity.
 * - `apply`: run the handler.
 * - `duplicate`: already applied (or superseded); skip.
 * - `gap`: a domain event arrived before its predecessors; hold it until they come.
 */
export type ApplyDecision = 'apply' | 'duplicate' | 'gap';

/**
 * State, notice and tombstone events carry (or point to) the whole state, so the newest
 * wins and older ones are dropped. Domain events describe one step each, so they need
 * the exact next version.
 */
export function decide(kind: EventKind, incoming: number, stored: number): ApplyDecision {
  if (kind === 'domain') {
    if (incoming <= stored) return 'duplicate';
    return incoming === stored + 1 ? 'apply' : 'gap';
  }
  return incoming > stored ? 'apply' : 'duplicate';
}
