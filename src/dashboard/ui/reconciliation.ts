/// <reference lib="dom" />
import { api } from './api.js';
import { h } from './dom.js';

interface Run {
  id: number;
  flow: string;
  status: string;
  dryRun: boolean;
  startedAt: string;
  finishedAt: string | null;
  report: { found?: Record<string, number>; reconciled?: number; durationMs?: number } | null;
}
interface ReconException {
  id: number;
  flow: string;
  entityType: string;
  entityId: string;
  class: string;
  status: string;
  assignee: string | null;
}

const found = (run: Run) =>
  Object.entries(run.report?.found ?? {})
    .filter(([, n]) => n > 0)
    .map(([cls, n]) => `${n} ${cls}`)
    .join(', ') || 'no differences';

/** Per consumer: its latest reconciliation runs and the exceptions still waiting for a person. */
export async function reconciliationView(): Promise<HTMLElement> {
  const { consumers } = await api<{ consumers: string[] }>('/api/consumers');
  const sections = await Promise.all(
    consumers.map(async (consumer) => {
      const path = `/api/consumers/${encodeURIComponent(consumer)}/reconciliation`;
      const [{ runs }, { exceptions }] = await Promise.all([
        api<{ runs: Run[] }>(`${path}/runs?limit=10`),
        api<{ exceptions: ReconException[] }>(`${path}/exceptions`),
      ]);
      const unresolved = exceptions.filter((e) => e.status !== 'resolved');
      return h(
        'div',
        { class: 'card', 'data-testid': `reconciliation-${consumer}` },
        h('h3', {}, consumer),
        runs.length === 0
          ? h('p', {}, 'No reconciliation runs yet.')
          : h(
              'table',
              {},
              h('tr', {}, ...['run', 'flow', 'status', 'found', 'finished'].map((t) => h('th', {}, t))),
              ...runs.map((r) =>
                h(
                  'tr',
                  {},
                  h('td', {}, `#${r.id}${r.dryRun ? ' (dry run)' : ''}`),
                  h('td', {}, r.flow),
                  h('td', {}, r.status),
                  h('td', {}, found(r)),
                  h('td', {}, r.finishedAt ? new Date(r.finishedAt).toLocaleString() : '…'),
                ),
              ),
            ),
        h('h4', {}, `Open exceptions: ${unresolved.length}`),
        ...unresolved.map((e) =>
          h(
            'p',
            {},
            `#${e.id} ${e.entityType}/${e.entityId} ${e.class} in ${e.flow} — ${e.status}${e.assignee ? ` (${e.assignee})` : ''}`,
          ),
        ),
      );
    }),
  );
  return h('div', {}, h('h2', {}, 'Reconciliation'), h('div', { class: 'cards' }, ...sections));
}
