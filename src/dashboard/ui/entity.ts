/// <reference lib="dom" />
import { api, ProblemError } from './api.js';
import { h } from './dom.js';

interface Readiness {
  decision: string;
  version: number;
  ready: boolean;
  missing: string[];
  explanation: string;
  waitsUntil?: string;
}
interface EntityStatus {
  entityType: string;
  entityId: string;
  authority: string;
  latestVersion: number;
  versions: {
    version: number;
    acceptedAt: string;
    settled: boolean;
    contexts: { context: string; stage: string; since?: string }[];
  }[];
  decisions: Readiness[];
  summary: string;
}
interface TimelineEntry {
  version: number;
  context: string;
  stage: string;
  at: string;
  eventType?: string;
}

const link = (type: string, id: string) => `#/entity/${encodeURIComponent(type)}/${encodeURIComponent(id)}`;

export async function entitiesView(): Promise<HTMLElement> {
  const { entities } = await api<{
    entities: { entityType: string; entityId: string; version: number; updatedAt: string }[];
  }>('/api/entities?limit=50');
  const type = h('input', {
    value: 'customer',
    'aria-label': 'entity type',
    'data-testid': 'entity-type',
  }) as HTMLInputElement;
  const id = h('input', {
    placeholder: 'entity id',
    'aria-label': 'entity id',
    'data-testid': 'entity-id',
  }) as HTMLInputElement;
  return h(
    'div',
    {},
    h('h2', {}, 'Entities'),
    h(
      'form',
      {
        onsubmit: (event: Event) => {
          event.preventDefault();
          location.hash = link(type.value.trim(), id.value.trim());
        },
      },
      type,
      id,
      h('button', { type: 'submit', 'data-testid': 'open-entity' }, 'Open'),
    ),
    h('h3', {}, 'Recently changed'),
    h(
      'table',
      { 'data-testid': 'entities' },
      h('tr', {}, h('th', {}, 'entity'), h('th', {}, 'version'), h('th', {}, 'changed')),
      ...entities.map((e) =>
        h(
          'tr',
          {},
          h('td', {}, h('a', { href: link(e.entityType, e.entityId) }, `${e.entityType}/${e.entityId}`)),
          h('td', {}, e.version),
          h('td', {}, new Date(e.updatedAt).toLocaleString()),
        ),
      ),
    ),
  );
}

export async function entityView(type: string, id: string): Promise<HTMLElement> {
  let status: EntityStatus;
  try {
    status = await api<EntityStatus>(`/api/entities/${encodeURIComponent(type)}/${encodeURIComponent(id)}`);
  } catch (error) {
    if (error instanceof ProblemError && error.status === 404) {
      return h(
        'div',
        {},
        h('h2', {}, `${type}/${id}`),
        h('p', { class: 'error', 'data-testid': 'entity-error' }, error.message),
      );
    }
    throw error;
  }
  const { timeline } = await api<{ timeline: TimelineEntry[] }>(
    `/api/entities/${encodeURIComponent(type)}/${encodeURIComponent(id)}/timeline`,
  );
  const latest = status.versions[status.versions.length - 1];
  return h(
    'div',
    {},
    h(
      'h2',
      { 'data-testid': 'entity-title' },
      `${status.entityType}/${status.entityId} · version ${status.latestVersion}`,
    ),
    h('p', { class: 'summary', 'data-testid': 'entity-summary' }, status.summary),
    h('h3', {}, 'Readiness per decision'),
    h(
      'table',
      { 'data-testid': 'readiness' },
      h('tr', {}, h('th', {}, 'decision'), h('th', {}, 'ready'), h('th', {}, 'why')),
      ...status.decisions.map((d) =>
        h(
          'tr',
          { 'data-testid': `readiness-${d.decision}`, 'data-ready': String(d.ready) },
          h('td', {}, d.decision),
          h('td', { class: d.ready ? 'ok' : 'warn' }, d.ready ? 'ready' : 'not yet'),
          h('td', {}, d.explanation),
        ),
      ),
    ),
    latest
      ? h(
          'div',
          {},
          h('h3', {}, `Version ${latest.version} in each context`),
          h(
            'table',
            { 'data-testid': 'contexts' },
            h('tr', {}, h('th', {}, 'context'), h('th', {}, 'stage'), h('th', {}, 'since')),
            ...latest.contexts.map((c) =>
              h(
                'tr',
                {},
                h('td', {}, c.context),
                h('td', {}, c.stage),
                h('td', {}, c.since ? new Date(c.since).toLocaleString() : ''),
              ),
            ),
          ),
        )
      : null,
    h('h3', {}, 'Timeline'),
    h(
      'table',
      { 'data-testid': 'timeline' },
      h(
        'tr',
        {},
        h('th', {}, 'when'),
        h('th', {}, 'version'),
        h('th', {}, 'context'),
        h('th', {}, 'stage'),
        h('th', {}, 'event'),
      ),
      ...timeline.map((e) =>
        h(
          'tr',
          {},
          h('td', {}, new Date(e.at).toLocaleString()),
          h('td', {}, e.version),
          h('td', {}, e.context),
          h('td', {}, e.stage),
          h('td', {}, e.eventType ?? ''),
        ),
      ),
    ),
  );
}
