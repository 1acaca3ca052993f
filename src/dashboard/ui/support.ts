/// <reference lib="dom" />
import { api, ProblemError, session } from './api.js';
import { h } from './dom.js';

interface EntityDecisions {
  latestVersion: number;
  decisions: { decision: string }[];
  summary: string;
}

/** The badge component is served by the control plane itself (public), once per page. */
function loadBadgeScript(): void {
  if (document.querySelector('script[data-tidemark-badge]')) return;
  const script = document.createElement('script');
  script.type = 'module';
  script.src = '/tidemark-status.js';
  script.dataset.tidemarkBadge = '';
  document.head.append(script);
}

function badge(entity: string, decision?: string): HTMLElement {
  // The stream needs the session's token: EventSource cannot send it, the badge's fetch path can.
  return h('tidemark-status', {
    entity,
    token: session.token ?? '',
    'data-testid': decision ? `badge-${decision}` : 'badge-everywhere',
    ...(decision ? { decision } : {}),
  });
}

/** What a support agent needs on the phone: is the customer's change in effect yet, and where not. */
export async function supportView(customerId: string | undefined): Promise<HTMLElement> {
  const id = h('input', {
    placeholder: 'customer id',
    'aria-label': 'customer id',
    'data-testid': 'support-customer',
    value: customerId ?? '',
  }) as HTMLInputElement;
  const form = h(
    'form',
    {
      onsubmit: (event: Event) => {
        event.preventDefault();
        if (id.value.trim()) location.hash = `#/support/${encodeURIComponent(id.value.trim())}`;
      },
    },
    id,
    h('button', { type: 'submit', 'data-testid': 'support-open' }, 'Show'),
  );
  const section = h('section', {}, h('h2', {}, 'Support'), form);
  if (!customerId) return section;

  let entity: EntityDecisions;
  try {
    entity = await api<EntityDecisions>(`/api/entities/customer/${encodeURIComponent(customerId)}`);
  } catch (error) {
    if (!(error instanceof ProblemError && error.status === 404)) throw error;
    section.append(h('p', { class: 'error', 'data-testid': 'support-error' }, error.message));
    return section;
  }
  loadBadgeScript();
  const path = `customer/${customerId}`;
  section.append(
    h('h3', {}, `Customer ${customerId} (version ${entity.latestVersion})`),
    h(
      'table',
      { 'data-testid': 'support-badges' },
      h('tr', {}, h('th', {}, 'Everywhere'), h('td', {}, badge(path))),
      entity.decisions.map(({ decision }) =>
        h('tr', {}, h('th', {}, decision), h('td', {}, badge(path, decision))),
      ),
    ),
    h('p', {}, 'The badges follow the ledger live; no need to reload.'),
  );
  return section;
}
