import {
  context as otelContext,
  isSpanContextValid,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';

/**
 * W3C trace context through Tidemark with the OpenTelemetry API. The envelope's `traceparent`
 * attribute is the carrier: the producer stamps it at append, the relay and every backbone move
 * the envelope unchanged, and the consumer continues the trace when it processes the event.
 * With no OpenTelemetry SDK registered the API is a no-op: no spans are recorded, and a caller's
 * own traceparent (if its context has one) still travels with the event.
 */

const tracer = () => trace.getTracer('tidemark');

const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The `traceparent` header value of a span context; undefined for an invalid one. */
export function formatTraceparent(span: SpanContext): string | undefined {
  if (!isSpanContextValid(span)) return undefined;
  return `00-${span.traceId}-${span.spanId}-${(span.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** The remote span context of a `traceparent` value (version 00); undefined when malformed. */
export function parseTraceparent(value: unknown): SpanContext | undefined {
  if (typeof value !== 'string') return undefined;
  const match = traceparentPattern.exec(value);
  if (!match) return undefined;
  const span: SpanContext = {
    traceId: match[1]!,
    spanId: match[2]!,
    traceFlags: Number.parseInt(match[3]!, 16),
    isRemote: true,
  };
  return isSpanContextValid(span) ? span : undefined;
}

/**
 * For the producer: a PRODUCER span ("create", ended at once) under the caller's active span,
 * whose context becomes the event's `traceparent`. Without an SDK this is the caller's own
 * traceparent, or undefined when it has none.
 */
export function appendTraceparent(entityType: string, eventType: string): string | undefined {
  const span = tracer().startSpan(`create ${eventType}`, {
    kind: SpanKind.PRODUCER,
    attributes: {
      'messaging.system': 'tidemark',
      'messaging.operation.type': 'create',
      'tidemark.entity.type': entityType,
    },
  });
  const traceparent = formatTraceparent(span.spanContext());
  span.end();
  return traceparent;
}

/**
 * For the relay: a span for each batch that moved events (a batch mixes many traces, so it is a
 * root of its own). Empty polls leave no span; the span is created after the work with its real
 * start time.
 */
export async function traceRelayBatch<T>(
  relay: string,
  work: () => Promise<T>,
  count: (result: T) => number,
): Promise<T> {
  const startTime = new Date();
  const attributes = { 'messaging.system': 'tidemark', 'tidemark.relay': relay };
  let result: T;
  try {
    result = await work();
  } catch (error) {
    const span = tracer().startSpan(
      `publish ${relay}`,
      { kind: SpanKind.PRODUCER, attributes, startTime },
      ROOT_CONTEXT,
    );
    fail(span, error);
    span.end();
    throw error;
  }
  const moved = count(result);
  if (moved > 0) {
    tracer()
      .startSpan(
        `publish ${relay}`,
        {
          kind: SpanKind.PRODUCER,
          attributes: { ...attributes, 'messaging.batch.message_count': moved },
          startTime,
        },
        ROOT_CONTEXT,
      )
      .end();
  }
  return result;
}

/**
 * For the consumer: a CONSUMER span, child of the event's `traceparent`, active while the event
 * is processed, so spans the handler starts join the producer's trace.
 */
export async function traceDelivery<T extends readonly { kind: string }[]>(
  consumer: string,
  envelope: unknown,
  work: () => Promise<T>,
): Promise<T> {
  const fields = (typeof envelope === 'object' && envelope !== null ? envelope : {}) as Record<
    string,
    unknown
  >;
  const remote = parseTraceparent(fields.traceparent);
  const parent: Context = remote ? trace.setSpanContext(ROOT_CONTEXT, remote) : ROOT_CONTEXT;
  const attributes: Record<string, string | number> = {
    'messaging.system': 'tidemark',
    'messaging.operation.type': 'process',
    'messaging.consumer.group.name': consumer,
  };
  if (typeof fields.id === 'string') attributes['messaging.message.id'] = fields.id;
  if (typeof fields.entitytype === 'string') attributes['tidemark.entity.type'] = fields.entitytype;
  if (typeof fields.entityversion === 'number') attributes['tidemark.entity.version'] = fields.entityversion;
  const type = typeof fields.type === 'string' ? fields.type : 'event';
  const span = tracer().startSpan(`process ${type}`, { kind: SpanKind.CONSUMER, attributes }, parent);
  try {
    const outcomes = await otelContext.with(trace.setSpan(parent, span), work);
    span.setAttribute('tidemark.outcome', outcomes.map((o) => o.kind).join(','));
    if (outcomes.some((o) => o.kind === 'dead-lettered')) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'dead-lettered' });
    }
    return outcomes;
  } catch (error) {
    fail(span, error);
    throw error;
  } finally {
    span.end();
  }
}

function fail(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}
