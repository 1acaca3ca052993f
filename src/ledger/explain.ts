import type { ContextProgress } from './types.js';

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** A time as a support agent says it: `26 Nov 10:02` (UTC), or just `10:02` on the same day as `now`. */
export function sayTime(iso: string, now: Date): string {
  const d = new Date(iso);
  const clock = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}`;
  const sameDay = d.toISOString().slice(0, 10) === now.toISOString().slice(0, 10);
  return sameDay ? clock : `${d.getUTCDate()} ${months[d.getUTCMonth()]} ${clock}`;
}

/** A date without the clock when it is midnight: `1 Dec`, else `1 Dec 18:00`. */
export function sayDate(iso: string): string {
  const d = new Date(iso);
  const day = `${d.getUTCDate()} ${months[d.getUTCMonth()]}`;
  return d.getUTCHours() === 0 && d.getUTCMinutes() === 0
    ? day
    : `${day} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}`;
}

/** `CustomerAddressChanged` → `customer address changed`; `customer.state` → `customer state`. */
export function sayEventType(type: string): string {
  return type
    .replace(/[._-]+/g, ' ')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .trim();
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

/** One context's progress in plain words, e.g. `billing uses it from 1 Dec (next-billing-cycle)`. */
export function sayProgress(p: ContextProgress, now: Date): string {
  const { context, detail } = p;
  const since = p.since ? sayTime(p.since, now) : undefined;
  const why = text(detail.reason) ?? text(detail.description);
  switch (p.stage) {
    case 'pending':
      return `${context} has not received it yet`;
    case 'delivered':
      return `${context} received it${since ? ` at ${since}` : ''} but does not use it yet`;
    case 'held':
      return `${context} holds it: ${text(detail.state) ?? 'held'}${why ? ` (${why})` : ''}`;
    case 'deferred': {
      const until = text(detail.until);
      const calendar = text(detail.calendar);
      const confirmed = text(detail.reconciledAt) ? ', copy reconciled' : '';
      return `${context} uses it from ${until ? sayDate(until) : 'a later date'}${calendar ? ` (${calendar})` : ''}${confirmed}`;
    }
    case 'blocked':
      return `${context}: blocked${why ? ` — ${why}` : ''}`;
    case 'rejected':
      return `${context} rejected it${why ? ` — ${why}` : ''}`;
    case 'applied':
      return `${context} uses it since ${since ?? 'now'}`;
    case 'reconciled':
      return `${context} uses it since ${since ?? 'now'} (reconciled)`;
    default:
      return `${context}: ${p.stage}`;
  }
}
