import { readFileSync } from 'node:fs';
import { Registry, register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parseExposition, valueOf } from './exposition.js';
import { isTidemarkError } from '../../src/errors.js';
import type { RelayStatus } from '../../src/relay/index.js';
import {
  createMetrics,
  latencyBuckets,
  metricDefinitions,
  registerRelayCollector,
  type MetricDefinition,
} from '../../src/obs/index.js';

const definitions: MetricDefinition[] = Object.values(metricDefinitions);
const names = definitions.map((d) => d.name);
const docs = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');

describe('metric names and help texts', () => {
  it.each(names)('%s follows the Prometheus naming rules', (name) => {
    const d = definitions.find((x) => x.name === name)!;
    expect(name).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
    expect(name).toMatch(/^tidemark_[a-z0-9_]+$/);
    expect(name).not.toMatch(/__/);
    // Counters and only counters end in _total; units are base units.
    expect(name.endsWith('_total')).toBe(d.type === 'counter');
    expect(name).not.toMatch(/_(milliseconds|ms|minutes|hours)(_|$)/);
    if (d.type === 'histogram') expect(name).toMatch(/_seconds$/);
    for (const label of d.labelNames) {
      expect(label).toMatch(/^[a-zA-Z_][a-zA-Z0-9_]*$/);
      expect(label.startsWith('__')).toBe(false);
      if (d.type === 'histogram') expect(label).not.toBe('le');
    }
  });

  it.each(names)('%s has a help text that says what it measures', (name) => {
    const d = definitions.find((x) => x.name === name)!;
    expect(d.help.trim().length).toBeGreaterThan(30);
    expect(d.help).not.toMatch(/\n/);
  });

  it('has no name twice', () => {
    expect(new Set(names).size).toBe(names.length);
  });

  it('exposes each metric with its help and type as written in the table', async () => {
    const text = await createMetrics().registry.metrics();
    for (const d of definitions) {
      expect(text).toContain(`# HELP ${d.name} ${d.help.replaceAll('\\', '\\\\')}`);
      expect(text).toContain(`# TYPE ${d.name} ${d.type}`);
    }
  });

  it('buckets latency from 1 ms to 60 s in rising order', () => {
    expect(latencyBuckets[0]).toBe(0.001);
    expect(latencyBuckets[latencyBuckets.length - 1]).toBe(60);
    expect([...latencyBuckets].sort((a, b) => a - b)).toEqual([...latencyBuckets]);
  });

  it.each(names)('docs/metrics.md documents %s with its type and labels', (name) => {
    const d = definitions.find((x) => x.name === name)!;
    const section = docs.split(/^(?=## )/m).find((part) => part.startsWith(`## \`${name}\``));
    expect(section, `add a "## \`${name}\`" section to docs/metrics.md`).toBeDefined();
    expect(section).toContain(`**Type:** ${d.type}`);
    for (const label of d.labelNames) expect(section).toContain(`\`${label}\``);
  });
});

describe('registries', () => {
  it('never registers on the global default registry, so runtimes and tests do not collide', () => {
    const a = createMetrics();
    const b = createMetrics();
    expect(a.registry).not.toBe(b.registry);
    for (const name of names) expect(globalRegistry.getSingleMetric(name)).toBeUndefined();
  });

  it('uses a given registry, and refuses to register twice on it', () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry });
    expect(metrics.registry).toBe(registry);
    expect(registry.getSingleMetric('tidemark_outbox_backlog')).toBe(metrics.outboxBacklog);
    let thrown: unknown;
    try {
      createMetrics({ registry });
    } catch (error) {
      thrown = error;
    }
    expect(isTidemarkError(thrown, 'TM_INVALID_ARGUMENT')).toBe(true);
    expect((thrown as Error).message).toMatch(/already has a metric named tidemark_/);
  });
});

describe('collectors', () => {
  // A stand-in relay whose status() never answers, like a query stuck behind a lock: it is the
  // only way to make a refresh outlast its timeout on purpose.
  function stuckRelay() {
    let calls = 0;
    return {
      name: 'stuck',
      get calls() {
        return calls;
      },
      status: () => {
        calls++;
        return new Promise<RelayStatus>(() => {});
      },
    };
  }

  it('bounds a scrape by the timeout, counts it, and does not pile up refreshes', async () => {
    // Given a relay collector with a 50 ms timeout over a relay that never answers
    const metrics = createMetrics();
    const relay = stuckRelay();
    const errors: unknown[] = [];
    registerRelayCollector(metrics, relay, { timeoutMs: 50, onError: (e) => errors.push(e) });

    // When Prometheus scrapes twice
    const started = Date.now();
    await metrics.registry.metrics();
    const samples = parseExposition(await metrics.registry.metrics());

    // Then both scrapes answered in bounded time, each counted one timeout, and the stuck
    // refresh was awaited again instead of being started a second time
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(
      valueOf(samples, 'tidemark_collector_errors_total', { collector: 'relay', reason: 'timeout' }),
    ).toBe(2);
    expect(valueOf(samples, 'tidemark_collector_errors_total', { collector: 'relay', reason: 'error' })).toBe(
      0,
    );
    expect(relay.calls).toBe(1);
    expect(errors).toHaveLength(2);
    expect(isTidemarkError(errors[0])).toBe(true);
  });

  it('removes the series of a collector when it is unregistered', async () => {
    const metrics = createMetrics();
    const status: RelayStatus = {
      name: 'r1',
      cursor: { txid: '0', position: 0 },
      relayed: 7,
      backlog: 2,
      owner: null,
    };
    const unregister = registerRelayCollector(metrics, { name: 'r1', status: async () => status });
    let samples = parseExposition(await metrics.registry.metrics());
    expect(valueOf(samples, 'tidemark_outbox_backlog', { relay: 'r1' })).toBe(2);
    expect(valueOf(samples, 'tidemark_relay_relayed_total', { relay: 'r1' })).toBe(7);

    unregister();
    samples = parseExposition(await metrics.registry.metrics());
    expect(samples.filter((s) => s.labels.relay === 'r1')).toEqual([]);
  });

  it('refuses a timeout that is not a positive number', () => {
    const metrics = createMetrics();
    expect(() => registerRelayCollector(metrics, stuckRelay(), { timeoutMs: 0 })).toThrow(/timeoutMs/);
  });
});
