/// <reference lib="dom" />
import { api } from './api.js';
import { consumerProgress, consumersTable } from './consumers.js';
import { h, s } from './dom.js';

interface Flow {
  name: string;
  entityType: string;
  source: string;
  consumer: string;
  strategy: string;
  lag: number | null;
  deadLetters: { open: number; parked: number; parkedKeys: number } | null;
}
interface RelayRow {
  name: string;
  relayed: number;
  backlog: number;
  horizon?: {
    held: boolean;
    waitingRows: number;
    ageSeconds: number;
    explanation?: string;
    holder?: { xid: string; pid: number; since: string; applicationName: string | null; state: string };
  };
}
interface FlowsAnswer {
  backlog: number;
  relays: RelayRow[];
  flows: Flow[];
  consumers: { consumer: string; lag: number | null; deadLetters: Flow['deadLetters'] }[];
}
interface TopologyAnswer {
  contexts: { name: string; description: string }[];
  flows: { name: string; source: string; consumer: string; strategy: string; entityType: string }[];
}
interface Sample {
  at: string;
  backlog: number;
  consumers: Record<string, number>;
}

/** Healthy, behind, or stuck: the colour of a consumer and of the flows into it. */
export function health(
  lag: number | null,
  deadLetters: Flow['deadLetters'],
  stalled = false,
): { colour: string; label: string } {
  if (stalled) return { colour: '#cf222e', label: 'stalled' };
  if (deadLetters && deadLetters.open > 0) return { colour: '#cf222e', label: 'stuck (dead letters)' };
  if (lag === null) return { colour: '#8c959f', label: 'lag unknown' };
  if (lag >= 100) return { colour: '#cf222e', label: 'far behind' };
  if (lag > 0 || (deadLetters && deadLetters.parked > 0)) return { colour: '#d4a72c', label: 'behind' };
  return { colour: '#2da44e', label: 'up to date' };
}

function graph(topology: TopologyAnswer, flows: FlowsAnswer, stalled: ReadonlySet<string>): SVGElement {
  const sources = [...new Set(topology.flows.map((f) => f.source))];
  const consumers = topology.contexts.map((c) => c.name).filter((n) => !sources.includes(n));
  const rowHeight = 64;
  const height = Math.max(sources.length, consumers.length) * rowHeight + 40;
  const position = new Map<string, { x: number; y: number }>();
  sources.forEach((name, i) =>
    position.set(name, { x: 40, y: 30 + i * rowHeight + (height - 40 - sources.length * rowHeight) / 2 }),
  );
  consumers.forEach((name, i) => position.set(name, { x: 460, y: 30 + i * rowHeight }));
  const svg = s('svg', {
    viewBox: `0 0 680 ${height}`,
    width: '100%',
    'data-testid': 'topology-graph',
    role: 'img',
  });
  const byConsumer = new Map(flows.consumers.map((c) => [c.consumer, c]));
  for (const flow of topology.flows) {
    const from = position.get(flow.source);
    const to = position.get(flow.consumer);
    if (!from || !to) continue;
    const progress = byConsumer.get(flow.consumer);
    const state = health(progress?.lag ?? null, progress?.deadLetters ?? null, stalled.has(flow.consumer));
    svg.append(
      s('line', {
        x1: from.x + 180,
        y1: from.y + 18,
        x2: to.x,
        y2: to.y + 18,
        stroke: state.colour,
        'stroke-width': 3,
      }),
      // Labelled near the consumer's end, where edges fan out and labels do not overlap.
      s(
        'text',
        { x: to.x - 150, y: to.y + 10 + (to.y - from.y) * 0.04, fill: '#57606a' },
        `${flow.strategy} · lag ${progress?.lag ?? '?'}`,
      ),
    );
  }
  for (const [name, at] of position) {
    const progress = byConsumer.get(name);
    const isSource = sources.includes(name);
    const state = isSource
      ? { colour: '#0b3954', label: `authority · backlog ${flows.backlog}` }
      : health(progress?.lag ?? null, progress?.deadLetters ?? null, stalled.has(name));
    const group = s('g', { 'data-testid': `context-${name}`, 'data-health': state.label });
    group.append(
      s('rect', { x: at.x, y: at.y, width: 180, height: 40, rx: 6, fill: state.colour }),
      s('text', { x: at.x + 10, y: at.y + 17, fill: 'white', 'font-weight': 600 }, name),
      s('text', { x: at.x + 10, y: at.y + 32, fill: 'white' }, state.label),
      s('title', {}, `${name}: ${state.label}`),
    );
    svg.append(group);
  }
  return svg;
}

function chart(title: string, points: { at: number; value: number }[]): HTMLElement {
  const width = 320;
  const height = 100;
  const svg = s('svg', {
    viewBox: `0 0 ${width} ${height + 20}`,
    width: String(width),
    'data-testid': `chart-${title}`,
  });
  if (points.length > 0) {
    const t0 = points[0]!.at;
    const span = Math.max(1, points[points.length - 1]!.at - t0);
    const max = Math.max(1, ...points.map((p) => p.value));
    const xy = points.map(
      (p) => `${((p.at - t0) / span) * (width - 10) + 5},${height - (p.value / max) * (height - 10)}`,
    );
    svg.append(
      s('polyline', { points: xy.join(' '), fill: 'none', stroke: '#0b3954', 'stroke-width': 2 }),
      s('text', { x: 5, y: 12, fill: '#57606a' }, `max ${max}`),
      s(
        'text',
        { x: 5, y: height + 15, fill: '#57606a' },
        `${points.length} samples, last ${points[points.length - 1]!.value}`,
      ),
    );
  } else svg.append(s('text', { x: 5, y: 50, fill: '#57606a' }, 'no samples yet'));
  return h('div', { class: 'card' }, h('h4', {}, title), svg);
}

export async function topologyView(): Promise<HTMLElement> {
  const [topology, flows, history, consumers] = await Promise.all([
    api<TopologyAnswer>('/api/topology'),
    api<FlowsAnswer>('/api/flows'),
    api<{ samples: Sample[] }>('/api/lag/history'),
    consumerProgress(),
  ]);
  const names = [...new Set(history.samples.flatMap((x) => Object.keys(x.consumers)))];
  const series = (pick: (x: Sample) => number | undefined) =>
    history.samples
      .map((x) => ({ at: Date.parse(x.at), value: pick(x) }))
      .filter((p): p is { at: number; value: number } => p.value !== undefined);
  return h(
    'div',
    {},
    h('h2', {}, 'Topology'),
    h(
      'p',
      { class: 'legend' },
      ...[
        ['#2da44e', 'up to date'],
        ['#d4a72c', 'behind'],
        ['#cf222e', 'stuck, stalled or far behind'],
        ['#8c959f', 'unknown'],
      ].map(([colour, label]) =>
        h('span', {}, h('span', { class: 'swatch', style: `background:${colour}` }), label!),
      ),
    ),
    graph(topology, flows, new Set((consumers ?? []).filter((c) => c.stalled).map((c) => c.consumer))),
    h(
      'table',
      { 'data-testid': 'flows' },
      h(
        'tr',
        {},
        h('th', {}, 'flow'),
        h('th', {}, 'strategy'),
        h('th', {}, 'lag (events)'),
        h('th', {}, 'open / parked dead letters'),
      ),
      ...flows.flows.map((f) =>
        h(
          'tr',
          { 'data-testid': `flow-${f.name}` },
          h('td', {}, f.name),
          h('td', {}, f.strategy),
          h('td', {}, f.lag ?? '?'),
          h('td', {}, f.deadLetters ? `${f.deadLetters.open} / ${f.deadLetters.parked}` : '–'),
        ),
      ),
    ),
    h('div', { class: 'side-by-side' }, relaysTable(flows.relays ?? []), consumersTable(consumers)),
    h('h3', {}, 'Lag over time'),
    h(
      'div',
      { class: 'cards' },
      chart(
        'outbox backlog',
        series((x) => x.backlog),
      ),
      ...names.map((name) =>
        chart(
          name,
          series((x) => x.consumers[name]),
        ),
      ),
    ),
  );
}

/** Relays, and the open transaction holding one back when the server can see it (a running relay). */
function relaysTable(relays: readonly RelayRow[]): HTMLElement {
  return h(
    'div',
    {},
    h('h3', {}, 'Relays'),
    h(
      'table',
      { 'data-testid': 'relays' },
      h(
        'tr',
        {},
        h('th', {}, 'relay'),
        h('th', {}, 'relayed'),
        h('th', {}, 'backlog'),
        h('th', {}, 'horizon'),
      ),
      ...relays.map((r) =>
        h(
          'tr',
          { 'data-testid': `relay-${r.name}` },
          h('td', {}, r.name),
          h('td', {}, r.relayed),
          h('td', {}, r.backlog),
          h(
            'td',
            { 'data-testid': `relay-horizon-${r.name}`, class: r.horizon?.held ? 'error' : '' },
            !r.horizon
              ? '–'
              : r.horizon.held
                ? `held ${Math.round(r.horizon.ageSeconds)} s: ${r.horizon.explanation ?? 'by an open transaction'}`
                : 'moving',
          ),
        ),
      ),
    ),
  );
}
