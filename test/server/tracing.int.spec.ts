import { trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTraceparent, parseTraceparent } from '../../src/obs/tracing.js';
import { waitUntil } from '../support/wait.js';
import { startEstate, type Estate } from './estate.js';
import { installRecordingTracer, type RecordedSpan } from './recording-tracer.js';

describe('traceparent parsing', () => {
  it('round-trips a W3C traceparent and refuses malformed or all-zero ones', () => {
    const value = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const parsed = parseTraceparent(value)!;
    expect(parsed).toMatchObject({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' });
    expect(formatTraceparent(parsed)).toBe(value);
    for (const bad of [
      '00-00000000000000000000000000000000-b7ad6b7169203331-01',
      '00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01',
      '00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01',
      'ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      42,
      undefined,
    ]) {
      expect(parseTraceparent(bad)).toBeUndefined();
    }
  });
});

describe('a trace from the producer through relay and backbone to each consumer', () => {
  let estate: Estate;
  let recorder: ReturnType<typeof installRecordingTracer>;

  beforeAll(async () => {
    recorder = installRecordingTracer();
    estate = await startEstate();
  }, 60_000);
  afterAll(async () => {
    await estate?.stop();
    recorder?.uninstall();
  });

  it('continues the caller’s trace: append → create span → envelope traceparent → a process span per consumer', async () => {
    const root = await trace.getTracer('test').startActiveSpan('change address request', async (span) => {
      await estate.change('traced-1', '9 Lantern Lane');
      span.end();
      return span.spanContext();
    });
    const processed = (consumer: string) =>
      recorder.spans.find(
        (s) =>
          s.name === 'process CustomerAddressChanged' &&
          s.attributes['messaging.consumer.group.name'] === consumer &&
          s.context.traceId === root.traceId &&
          s.ended,
      );
    await waitUntil(
      async () => Boolean(processed('billing') && processed('communications')),
      true,
      20_000,
      'both consumers to process the event',
    );

    const create = recorder.spans.find((s) => s.name === 'create CustomerAddressChanged')!;
    expect(create.context.traceId).toBe(root.traceId);
    expect(create.parentSpanId).toBe(root.spanId);
    const stored = (
      await estate.t.db.query<{ envelope: { traceparent?: string } }>(
        `SELECT envelope FROM "${estate.t.schema}".outbox WHERE entity_id = 'traced-1'`,
      )
    ).rows[0]!.envelope;
    expect(stored.traceparent).toBe(`00-${root.traceId}-${create.context.spanId}-01`);
    for (const consumer of ['billing', 'communications']) {
      const span: RecordedSpan = processed(consumer)!;
      expect(span.parentSpanId).toBe(create.context.spanId);
      expect(span.attributes['tidemark.outcome']).toBe('applied');
    }
    const published = recorder.spans.filter((s) => s.name === 'publish default');
    expect(published.length).toBeGreaterThan(0);
    expect(published.every((s) => Number(s.attributes['messaging.batch.message_count']) > 0)).toBe(true);
  });

  it('marks the process span of a dead-lettered event as an error', async () => {
    await estate.change('traced-2', 'POISON');
    const failed = () =>
      recorder.spans.find(
        (s) =>
          s.attributes['messaging.consumer.group.name'] === 'billing' &&
          s.status?.message === 'dead-lettered',
      );
    await waitUntil(async () => Boolean(failed()), true, 20_000, 'the poisoned event to be dead-lettered');
    expect(failed()!.attributes['tidemark.outcome']).toBe('dead-lettered');
  });
});
