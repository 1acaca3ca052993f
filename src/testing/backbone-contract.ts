import { describe, expect, it, type TestContext } from 'vitest';
import type {
  Backbone,
  BackboneCapabilities,
  BatchHandler,
  SubscribeOptions,
  Subscription,
} from '../backbone/backbone.js';
import { partitionOf } from '../backbone/partition.js';
import type { Envelope } from '../envelope/types.js';
import {
  assertKeyExclusive,
  assertNoDuplicates,
  assertNoLoss,
  assertPerKeyOrder,
  createOverlapProbe,
} from './invariants.js';
import { createGate, createRecorder, pause, workload } from './backbone-workload.js';

/** A second adapter instance over the same log that the suite can kill like a crashed process. */
export interface CrashableInstance {
  readonly backbone: Backbone;
  /** Cuts the instance off without stopping its subscriptions or releasing anything. */
  crash(): Promise<void>;
}

/** What the factory of {@link backboneContract} returns: one fresh, isolated log. */
export interface BackboneContractFixture {
  /** An adapter over a log no other test uses (its own schema, stream or subject prefix). */
  readonly backbone: Backbone;
  /**
   * Longest time a released or dead member's partitions may take to reach the remaining members
   * with the fixture's timings (lease expiry plus a heartbeat or two).
   */
  readonly takeoverMs: number;
  /** Opens a {@link CrashableInstance}; leave out when the adapter cannot simulate a crash. */
  readonly openCrashable?: () => Promise<CrashableInstance>;
  /** Removes everything the fixture created. Subscriptions are already stopped when it runs. */
  dispose(): Promise<void>;
}

export type BackboneFactory = () => Promise<BackboneContractFixture>;

/** Base time allowed for a small workload to arrive; the fixture's takeover time is added. */
const deliveryMs = 20_000;

interface Scene {
  readonly fixture: BackboneContractFixture;
  /** Skips the test (reported as skipped, never as passed) unless the adapter declares `capability`. */
  require(capability: keyof BackboneCapabilities): void;
  skip(reason: string): never;
  readonly backbone: Backbone;
  /** Subscribes and remembers the subscription so the test's end stops it. */
  subscribe(
    group: string,
    handler: BatchHandler,
    options?: SubscribeOptions,
    on?: Backbone,
  ): Promise<Subscription>;
  publishRounds(rounds: readonly Envelope[][], options?: { lanes?: number; gapMs?: number }): Promise<void>;
  /** Polls until `value()` reaches `expected`, within the delivery timeout. */
  until<T>(value: () => T, expected: T, extraMs?: number): Promise<void>;
}

/**
 * The behaviour every {@link Backbone} adapter must have. Call it from a test file with a
 * factory that creates a fresh, isolated adapter; capabilities the adapter does not declare
 * (consumer groups, idempotent publish) skip the tests that need them.
 *
 * @example
 * backboneContract('my-broker', async () => {
 *   const backbone = await createMyBroker({ prefix: uniquePrefix() });
 *   return { backbone, takeoverMs: 3_000, dispose: () => backbone.dangerous.destroy() };
 * });
 */
export function backboneContract(name: string, factory: BackboneFactory): void {
  const scene = (body: (s: Scene) => Promise<void>) => async (context: TestContext) => {
    const fixture = await factory();
    const subscriptions: Subscription[] = [];
    const s: Scene = {
      fixture,
      require(capability) {
        if (!fixture.backbone.capabilities[capability]) s.skip(`the adapter does not declare ${capability}`);
      },
      skip(reason): never {
        context.skip(reason);
        throw new Error('unreachable: context.skip() throws');
      },
      backbone: fixture.backbone,
      async subscribe(group, handler, options, on = fixture.backbone) {
        const subscription = await on.subscribe(group, handler, options);
        subscriptions.push(subscription);
        return subscription;
      },
      async publishRounds(rounds, options = {}) {
        // Lanes publish disjoint key sets at the same time; within a lane, versions go in order.
        const lanes = options.lanes ?? 1;
        await Promise.all(
          Array.from({ length: lanes }, async (_, lane) => {
            for (const round of rounds) {
              const mine = round.filter((_e, i) => i % lanes === lane);
              if (mine.length > 0) await fixture.backbone.publish(mine);
              if (options.gapMs) await pause(options.gapMs);
            }
          }),
        );
      },
      async until(value, expected, extraMs = 0) {
        await expect
          .poll(value, { timeout: deliveryMs + fixture.takeoverMs + extraMs, interval: 25 })
          .toEqual(expected);
      },
    };
    try {
      await body(s);
    } finally {
      // A stop that hangs (a crashed instance, a stuck handler) must not hang the suite.
      await Promise.all(subscriptions.map((sub) => Promise.race([sub.stop().catch(() => {}), pause(5_000)])));
      await fixture.dispose();
    }
  };
  const rejectOnPurpose = () => new Error('contract: handler rejects on purpose');

  describe(`Backbone contract: ${name}`, () => {
    it(
      'delivers every event, per key in publish order, in batches from one partition, while keys are published concurrently',
      scene(async (s) => {
        // Given one member and events of 24 keys published by 4 concurrent publishers
        const recorder = createRecorder();
        const sub = await s.subscribe(
          'orders',
          recorder.handler('a', async () => pause(Math.random() * 3)),
          { concurrency: 4, batchSize: 5 },
        );
        const rounds = workload(24, 8);
        const published = rounds.flat();
        await s.publishRounds(rounds, { lanes: 4 });

        // When they arrive
        await s.until(() => recorder.distinctIds().size, published.length);

        // Then nothing is lost, each key keeps its order, and each batch is one partition's
        const delivered = recorder.envelopes();
        assertNoLoss(published, delivered);
        assertPerKeyOrder(published, delivered);
        const partitions = s.backbone.partitions;
        for (const d of recorder.deliveries) {
          expect(d.message.partition).toBe(partitionOf(d.message.envelope.partitionkey, partitions));
          expect(d.handlerPartition).toBe(d.message.partition);
        }
        const firstOffsets = new Map<number, number>();
        const seen = new Set<string>();
        for (const d of recorder.deliveries) {
          if (seen.has(d.message.envelope.id)) continue;
          seen.add(d.message.envelope.id);
          const before = firstOffsets.get(d.message.partition) ?? -Infinity;
          expect(d.message.offset).toBeGreaterThan(before);
          firstOffsets.set(d.message.partition, d.message.offset);
        }
        // A lone member ends up holding every partition.
        expect(sub.assignedPartitions()).toEqual(Array.from({ length: partitions }, (_, p) => p));
      }),
    );

    it(
      'redelivers a rejected batch from its first message, with a growing deliveryAttempt',
      scene(async (s) => {
        // Given a handler that rejects the first two batches of the first partition it sees
        let failing: number | undefined;
        let rejections = 0;
        const failedFirstIds: string[] = [];
        const errors: { attempt: number; partition: number }[] = [];
        const recorder = createRecorder();
        await s.subscribe(
          'billing',
          recorder.handler('a', async (messages, partition) => {
            failing ??= partition;
            if (partition === failing && rejections < 2) {
              rejections += 1;
              failedFirstIds.push(messages[0]!.envelope.id);
              throw rejectOnPurpose();
            }
          }),
          {
            batchSize: 4,
            onError: (_error, info) => errors.push({ attempt: info.attempt, partition: info.partition }),
          },
        );
        const published = workload(6, 3).flat();

        // When events are published
        await s.backbone.publish(published);
        await s.until(() => recorder.distinctIds().size, published.length);
        await s.until(() => rejections, 2);

        // Then the rejected batch came back from the same first message, attempt 1, 2, 3
        const firstId = failedFirstIds[0]!;
        expect(failedFirstIds).toEqual([firstId, firstId]);
        await s.until(
          () =>
            recorder.deliveries
              .filter((d) => d.message.envelope.id === firstId)
              .map((d) => d.message.deliveryAttempt)
              .slice(0, 3),
          [1, 2, 3],
        );
        const calls = new Map<number, string>();
        for (const d of recorder.deliveries) {
          if (d.handlerPartition === failing && !calls.has(d.call)) calls.set(d.call, d.message.envelope.id);
        }
        expect([...calls.values()].slice(0, 3)).toEqual([firstId, firstId, firstId]);
        expect(errors.filter((e) => e.partition === failing).map((e) => e.attempt)).toEqual([1, 2]);
        assertNoLoss(published, recorder.envelopes());
        assertPerKeyOrder(published, recorder.envelopes());
      }),
    );

    it(
      'hands the unacknowledged messages of a stopped member to another member of its group',
      scene(async (s) => {
        s.require('consumerGroups');
        // Given member A, whose handler fails every batch (it never acknowledges anything)
        const recorder = createRecorder();
        const a = await s.subscribe(
          'claims',
          recorder.handler('a', async () => Promise.reject(rejectOnPurpose())),
        );
        const published = workload(8, 2).flat();
        await s.backbone.publish(published);
        await s.until(() => recorder.distinctIds('a').size > 0, true);

        // When A stops and member B joins the same group
        await a.stop();
        await s.subscribe('claims', recorder.handler('b'));

        // Then B receives every message, including those A saw but never acknowledged
        await s.until(() => recorder.distinctIds('b').size, published.length);
        const byB = recorder.envelopes('b');
        assertNoLoss(published, byB);
        assertNoLoss(recorder.envelopes('a'), byB);
        assertPerKeyOrder(published, byB);
      }),
    );

    it(
      'moves the partitions of a member that died without releasing them to the live members',
      scene(async (s) => {
        s.require('consumerGroups');
        if (!s.fixture.openCrashable) return s.skip('the fixture cannot simulate a crashed instance');
        // Given member A in an instance that will crash while holding a batch, and member B
        const doomed = await s.fixture.openCrashable();
        const stuck = createGate();
        const recorder = createRecorder();
        const partitions = s.backbone.partitions;
        const a = await s.subscribe(
          'policy',
          recorder.handler('a', () => stuck.wait),
          {},
          doomed.backbone,
        );
        const b = await s.subscribe('policy', recorder.handler('b'));
        try {
          await s.until(
            () =>
              a.assignedPartitions().length > 0 &&
              a.assignedPartitions().length + b.assignedPartitions().length === partitions,
            true,
          );
          const [before, after] = workload(16, 2);
          const published = [...before!, ...after!];
          await s.backbone.publish(before!);
          await s.until(() => recorder.distinctIds('a').size > 0, true);

          // When A's instance dies, and newer versions of the same keys follow
          await doomed.crash();
          await s.backbone.publish(after!);

          // Then B gets every message, and in time every partition
          await s.until(() => recorder.distinctIds('b').size, published.length);
          assertNoLoss(published, recorder.envelopes('b'));
          assertPerKeyOrder(published, recorder.envelopes('b'));
          await s.until(
            () => b.assignedPartitions(),
            Array.from({ length: partitions }, (_, p) => p),
          );
        } finally {
          stuck.fail(new Error('contract: the crashed member gives up'));
        }
      }),
    );

    it(
      'gives every group every message, each group at its own pace',
      scene(async (s) => {
        // Given group "slow", whose handler rejects everything for now, and group "fast"
        let slowAccepts = false;
        const slowAccepted = new Set<string>();
        const recorder = createRecorder();
        await s.subscribe(
          'slow',
          recorder.handler('slow', async (messages) => {
            if (!slowAccepts) throw rejectOnPurpose();
            for (const m of messages) slowAccepted.add(m.envelope.id);
          }),
        );
        await s.subscribe('fast', recorder.handler('fast'));
        const published = workload(10, 3).flat();

        // When events are published
        await s.backbone.publish(published);

        // Then "fast" gets all of them although "slow" has acknowledged none
        await s.until(() => recorder.distinctIds('fast').size, published.length);
        expect(slowAccepted.size).toBe(0);
        expect(recorder.distinctIds('slow').size).toBeGreaterThan(0);
        assertNoLoss(published, recorder.envelopes('fast'));
        assertPerKeyOrder(published, recorder.envelopes('fast'));

        // And once "slow" recovers, it gets all of them too
        slowAccepts = true;
        await s.until(() => slowAccepted.size, published.length);
        assertPerKeyOrder(published, recorder.envelopes('slow'));
      }),
    );

    it(
      'shares partitions among members of a group, each key handled by one member at a time, while members join and leave',
      scene(async (s) => {
        s.require('consumerGroups');
        // Given members A and B of one group, with a probe on concurrent handling per key
        const probe = createOverlapProbe();
        const recorder = createRecorder();
        const slowly = async (messages: readonly { envelope: Envelope }[]) => {
          const leave = probe.enter(messages.map((m) => m.envelope.partitionkey));
          try {
            await pause(1 + Math.random() * 8);
          } finally {
            leave();
          }
        };
        const options = { concurrency: 3, batchSize: 4 };
        const a = await s.subscribe('ledger', recorder.handler('a', slowly), options);
        const b = await s.subscribe('ledger', recorder.handler('b', slowly), options);
        const rounds = workload(30, 12);
        const published = rounds.flat();

        // When events keep coming while C joins and A leaves
        const publishing = s.publishRounds(rounds, { lanes: 3, gapMs: 40 });
        await s.until(() => recorder.distinctIds().size > published.length / 4, true);
        const c = await s.subscribe('ledger', recorder.handler('c', slowly), options);
        await s.until(() => recorder.distinctIds('c').size > 0, true);
        await a.stop();
        await publishing;

        // Then no key was ever handled twice at once, nothing is lost, order holds per key
        await s.until(() => recorder.distinctIds().size, published.length);
        assertKeyExclusive(probe);
        assertNoLoss(published, recorder.envelopes());
        assertPerKeyOrder(published, recorder.envelopes());
        expect(recorder.distinctIds('a').size).toBeGreaterThan(0);
        expect(recorder.distinctIds('b').size).toBeGreaterThan(0);
        expect(recorder.distinctIds('c').size).toBeGreaterThan(0);
        // And the remaining members settle on disjoint shares that cover every partition
        const all = Array.from({ length: s.backbone.partitions }, (_, p) => p);
        await s.until(() => {
          const held = [...b.assignedPartitions(), ...c.assignedPartitions()].sort((x, y) => x - y);
          return b.assignedPartitions().length > 0 && c.assignedPartitions().length > 0 ? held : [];
        }, all);
      }),
    );

    it(
      'never runs more handler calls at once than the concurrency option allows',
      scene(async (s) => {
        // Given a member allowed 2 batches in flight, and work waiting in many partitions
        const probe = createOverlapProbe();
        const recorder = createRecorder();
        await s.subscribe(
          'comms',
          recorder.handler('a', async (messages) => {
            const leave = probe.enter(messages.map((m) => m.envelope.partitionkey));
            await pause(30);
            leave();
          }),
          { concurrency: 2, batchSize: 2 },
        );
        const published = workload(16, 3).flat();

        // When it works through them
        await s.backbone.publish(published);
        await s.until(() => recorder.distinctIds().size, published.length);

        // Then at most 2 calls ran at once, and the bound was actually reached
        expect(probe.maxInFlight).toBe(2);
        assertNoLoss(published, recorder.envelopes());
      }),
    );

    it(
      'stop() waits for the handler in flight, then delivers nothing more',
      scene(async (s) => {
        // Given a member whose first batch is held inside the handler
        const events: string[] = [];
        const release = createGate();
        let entered = false;
        const recorder = createRecorder();
        const sub = await s.subscribe(
          'archive',
          recorder.handler('a', async () => {
            if (!entered) {
              entered = true;
              await release.wait;
              events.push('handler finished');
            }
          }),
        );
        await s.backbone.publish(workload(4, 1).flat());
        await s.until(() => entered, true);

        // When the member is stopped
        let stopped = false;
        const stopping = sub.stop().then(() => {
          stopped = true;
          events.push('stopped');
        });
        await pause(150);

        // Then stop() waits for the handler, and nothing arrives afterwards
        expect(stopped).toBe(false);
        release.open();
        await stopping;
        expect(events).toEqual(['handler finished', 'stopped']);
        const callsAtStop = recorder.deliveries.length;
        await s.backbone.publish(workload(4, 1, 'late').flat());
        await pause(500);
        expect(recorder.deliveries.length).toBe(callsAtStop);
      }),
    );

    it(
      'delivers an event published twice with the same id only once',
      scene(async (s) => {
        s.require('idempotentPublish');
        // Given events published twice (same ids), then a marker event per key
        const recorder = createRecorder();
        await s.subscribe('dedup', recorder.handler('a'), { batchSize: 3 });
        const [first, second, markers] = workload(6, 3);
        const twice = [...first!, ...second!];
        await s.backbone.publish(twice);
        await s.backbone.publish(twice);
        await s.backbone.publish(markers!);

        // When every marker has arrived (per-key order puts any duplicate before its marker)
        const markerIds = new Set(markers!.map((e) => e.id));
        await s.until(
          () => [...recorder.distinctIds()].filter((id) => markerIds.has(id)).length,
          markerIds.size,
        );

        // Then each id was handled exactly once
        assertNoLoss(twice, recorder.envelopes());
        assertNoDuplicates(recorder.envelopes());
      }),
    );
  });
}
