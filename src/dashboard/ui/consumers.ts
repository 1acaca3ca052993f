/// <reference lib="dom" />
import { api } from './api.js';
import { h } from './dom.js';

export interface ConsumerRow {
  consumer: string;
  source: 'running' | 'database' | 'none';
  lag: number | null;
  lastProgressAt: string | null;
  batchesInHand: number | null;
  liveInstances: number | null;
  stalled: boolean | null;
  stalledSince: string | null;
  stuckForSeconds: number;
  explanation: string | null;
  reasons: { kind: string; detail: string }[];
}

/** The consumers' stall diagnosis, or null when this server cannot give it (an older server). */
export async function consumerProgress(): Promise<ConsumerRow[] | null> {
  try {
    return (await api<{ consumers: ConsumerRow[] }>('/api/consumers/progress')).consumers;
  } catch {
    return null;
  }
}

function state(row: ConsumerRow): string {
  if (row.stalled) return `stalled ${Math.round(row.stuckForSeconds)} s: ${row.explanation ?? ''}`;
  if (row.stalled === null) return 'unknown';
  if ((row.lag ?? 0) > 0 || (row.batchesInHand ?? 0) > 0) return 'moving';
  return 'idle';
}

/** Consumers, with a stalled one (work waiting, nothing finished) highlighted with the reason. */
export function consumersTable(rows: readonly ConsumerRow[] | null): HTMLElement {
  if (rows === null) return h('div', {}, h('h3', {}, 'Consumers'), h('p', {}, 'progress unavailable'));
  return h(
    'div',
    {},
    h('h3', {}, 'Consumers'),
    h(
      'table',
      { 'data-testid': 'consumers' },
      h(
        'tr',
        {},
        h('th', {}, 'consumer'),
        h('th', {}, 'lag'),
        h('th', {}, 'last progress'),
        h('th', {}, 'state'),
        h('th', {}, 'why'),
      ),
      ...rows.map((r) =>
        h(
          'tr',
          { 'data-testid': `consumer-${r.consumer}`, class: r.stalled ? 'stalled' : '' },
          h('td', {}, r.consumer),
          h('td', {}, r.lag ?? '?'),
          h('td', {}, r.lastProgressAt ? new Date(r.lastProgressAt).toLocaleTimeString() : '–'),
          h(
            'td',
            {
              'data-testid': `consumer-state-${r.consumer}`,
              class: r.stalled ? 'error' : '',
              title:
                r.source === 'running'
                  ? 'as the running consumer reports it'
                  : r.source === 'database'
                    ? 'as the database shows it'
                    : 'the server can read nothing to tell',
            },
            state(r),
          ),
          h(
            'td',
            { 'data-testid': `consumer-reasons-${r.consumer}` },
            r.reasons.length === 0 ? '–' : h('ul', {}, ...r.reasons.map((x) => h('li', {}, x.detail))),
          ),
        ),
      ),
    ),
  );
}
