/// <reference lib="dom" />
import { api, ProblemError, type Me } from './api.js';
import { h } from './dom.js';

interface DeadLetter {
  id: number;
  consumer: string;
  status: string;
  entityType: string | null;
  entityId: string | null;
  entityVersion: number | null;
  partitionKey: string | null;
  reason: string;
  attempts: number;
  parkedBehind: number;
}

/** Kept across the page's refreshes, so a reason being typed is not lost. */
let draftReason = '';

/** The dead-letter list; operators also get retry and skip, each with the reason they type. */
export async function deadLettersView(me: Me, refresh: () => void): Promise<HTMLElement> {
  const { deadLetters } = await api<{ deadLetters: DeadLetter[] }>('/api/dead-letters?status=active');
  const operator = me.role === 'operator';
  const message = h('p', { role: 'status', 'data-testid': 'dlq-message' });
  const reason = h('input', {
    placeholder: 'reason (recorded in the audit log)',
    size: '40',
    'data-testid': 'dlq-reason',
    oninput: (event: Event) => {
      draftReason = (event.target as HTMLInputElement).value;
    },
  }) as HTMLInputElement;
  reason.value = draftReason;
  const act = (d: DeadLetter, verb: 'retry' | 'skip') => async () => {
    try {
      await api(`/api/consumers/${encodeURIComponent(d.consumer)}/dead-letters/${d.id}/${verb}`, {
        method: 'POST',
        body: { reason: reason.value },
      });
      message.className = 'ok';
      message.textContent = `${verb === 'retry' ? 'Released' : 'Skipped'} dead letter #${d.id} of ${d.consumer}.`;
      setTimeout(refresh, 300);
    } catch (error) {
      message.className = 'error';
      message.textContent =
        error instanceof ProblemError ? `${error.title}: ${error.message}` : String(error);
    }
  };
  return h(
    'div',
    {},
    h('h2', {}, 'Dead letters'),
    operator
      ? h('p', {}, reason)
      : h('p', {}, 'Viewers can read dead letters; an operator can retry or skip them.'),
    message,
    deadLetters.length === 0
      ? h('p', { 'data-testid': 'dlq-empty' }, 'No active dead letters: every key is flowing.')
      : h(
          'table',
          { 'data-testid': 'dead-letters' },
          h(
            'tr',
            {},
            ...['#', 'consumer', 'status', 'entity', 'key', 'reason', 'attempts', 'waiting behind', ''].map(
              (t) => h('th', {}, t),
            ),
          ),
          ...deadLetters.map((d) =>
            h(
              'tr',
              { 'data-testid': `dead-letter-${d.consumer}-${d.id}`, 'data-status': d.status },
              h('td', {}, d.id),
              h('td', {}, d.consumer),
              h('td', {}, d.status),
              h('td', {}, `${d.entityType ?? '?'}/${d.entityId ?? '?'}@${d.entityVersion ?? '?'}`),
              h('td', {}, d.partitionKey ?? ''),
              h('td', {}, d.reason),
              h('td', {}, d.attempts),
              h('td', {}, d.parkedBehind),
              h(
                'td',
                {},
                operator && d.status === 'open'
                  ? h('button', { onclick: act(d, 'retry'), 'data-testid': `retry-${d.id}` }, 'Retry')
                  : null,
                operator
                  ? h('button', { onclick: act(d, 'skip'), 'data-testid': `skip-${d.id}` }, 'Skip')
                  : null,
              ),
            ),
          ),
        ),
  );
}

export async function auditView(): Promise<HTMLElement> {
  const { audit } = await api<{
    audit: { id: number; at: string; actor: string; action: string; target: string; reason: string }[];
  }>('/api/audit?limit=100');
  return h(
    'div',
    {},
    h('h2', {}, 'Audit log'),
    h(
      'table',
      { 'data-testid': 'audit' },
      h('tr', {}, ...['when', 'who', 'what', 'target', 'why'].map((t) => h('th', {}, t))),
      ...audit.map((a) =>
        h(
          'tr',
          {},
          h('td', {}, new Date(a.at).toLocaleString()),
          h('td', {}, a.actor),
          h('td', {}, a.action),
          h('td', {}, a.target),
          h('td', {}, a.reason),
        ),
      ),
    ),
  );
}
