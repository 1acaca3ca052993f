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

/**
 * Which entity a support route names: `#/support/<type>/<id>` when the first segment is a type of
 * the topology, else `#/support/<id>` of the first declared type (older links stay valid).
 */
export function supportTarget(
  segments: readonly string[],
  types: readonly string[],
): { type: string | undefined; id: string | undefined } {
  // Without declared types any first segment is the type (the form then asks for it in full).
  if (segments.length >= 2 && (types.length === 0 || types.includes(segments[0]!))) {
    return { type: segments[0], id: segments.slice(1).join('/') || undefined };
  }
  return { type: types[0], id: segments.join('/') || undefined };
}

/** What a support agent needs on the phone: is the entity's change in effect yet, and where not. */
export async function supportView(segments: readonly string[]): Promise<HTMLElement> {
  const topology = await api<{ entityTypes: { name: string }[] }>('/api/topology');
  const types = topology.entityTypes.map((t) => t.name);
  const target = supportTarget(segments, types);
  // A topology declaring no entity types (a server started without one): the type is typed in.
  const type =
    types.length === 0
      ? (h('input', {
          placeholder: 'entity type',
          'aria-label': 'entity type',
          'data-testid': 'support-type',
          value: target.type ?? '',
        }) as HTMLInputElement)
      : (h(
          'select',
          { 'aria-label': 'entity type', 'data-testid': 'support-type', hidden: types.length === 1 },
          ...types.map((name) => h('option', { value: name, selected: name === target.type }, name)),
        ) as HTMLSelectElement);
  const placeholder = () => `${type.value || 'entity'} id`;
  const id = h('input', {
    placeholder: placeholder(),
    'aria-label': placeholder(),
    'data-testid': 'support-customer',
    value: target.id ?? '',
  }) as HTMLInputElement;
  type.addEventListener('change', () => {
    id.placeholder = placeholder();
    id.setAttribute('aria-label', placeholder());
  });
  const form = h(
    'form',
    {
      onsubmit: (event: Event) => {
        event.preventDefault();
        const chosen = type.value.trim();
        if (id.value.trim() && chosen) {
          location.hash = `#/support/${encodeURIComponent(chosen)}/${encodeURIComponent(id.value.trim())}`;
        }
      },
    },
    type,
    id,
    h('button', { type: 'submit', 'data-testid': 'support-open' }, 'Show'),
  );
  const section = h('section', {}, h('h2', {}, 'Support'), form);
  if (!target.id || !target.type) return section;
  const entityType = target.type;
  const entityId = target.id;

  let entity: EntityDecisions;
  try {
    entity = await api<EntityDecisions>(
      `/api/entities/${encodeURIComponent(entityType)}/${encodeURIComponent(entityId)}`,
    );
  } catch (error) {
    if (!(error instanceof ProblemError && (error.status === 404 || error.status === 400))) throw error;
    section.append(h('p', { class: 'error', 'data-testid': 'support-error' }, error.message));
    return section;
  }
  loadBadgeScript();
  const path = `${entityType}/${entityId}`;
  section.append(
    h(
      'h3',
      { 'data-testid': 'support-entity' },
      `${entityType[0]!.toUpperCase()}${entityType.slice(1)} ${entityId} (version ${entity.latestVersion})`,
    ),
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
