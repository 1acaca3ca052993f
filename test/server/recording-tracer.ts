import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import {
  context as otelContext,
  ROOT_CONTEXT,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type ContextManager,
  type Span,
  type SpanContext,
  type SpanOptions,
  type SpanStatus,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';

/** A finished (or open) span as the recorder saw it. */
export interface RecordedSpan {
  readonly name: string;
  readonly kind: number | undefined;
  readonly context: SpanContext;
  readonly parentSpanId: string | undefined;
  readonly attributes: Attributes;
  status: SpanStatus | undefined;
  ended: boolean;
}

/**
 * A minimal OpenTelemetry SDK stand-in for tests: records spans in memory and keeps the active
 * context in AsyncLocalStorage. It implements the public API interfaces only, as any SDK does.
 */
export function installRecordingTracer(): { spans: RecordedSpan[]; uninstall(): void } {
  const spans: RecordedSpan[] = [];
  const storage = new AsyncLocalStorage<Context>();
  const manager: ContextManager = {
    active: () => storage.getStore() ?? ROOT_CONTEXT,
    with: (ctx, fn, thisArg, ...args) => storage.run(ctx, () => fn.call(thisArg, ...args)),
    bind: (_ctx, target) => target,
    enable() {
      return this;
    },
    disable() {
      storage.disable();
      return this;
    },
  };

  const startSpan = (name: string, options: SpanOptions = {}, ctx?: Context): Span => {
    const parent = trace.getSpanContext(ctx ?? otelContext.active());
    const record: RecordedSpan = {
      name,
      kind: options.kind,
      context: {
        traceId: parent?.traceId ?? randomBytes(16).toString('hex'),
        spanId: randomBytes(8).toString('hex'),
        traceFlags: TraceFlags.SAMPLED,
      },
      parentSpanId: parent?.spanId,
      attributes: { ...(options.attributes ?? {}) },
      status: undefined,
      ended: false,
    };
    spans.push(record);
    const span: Span = {
      spanContext: () => record.context,
      setAttribute(key, value) {
        if (value !== undefined) (record.attributes as Record<string, unknown>)[key] = value;
        return span;
      },
      setAttributes(attributes) {
        Object.assign(record.attributes, attributes);
        return span;
      },
      addEvent: () => span,
      addLink: () => span,
      addLinks: () => span,
      setStatus(status) {
        record.status = status;
        return span;
      },
      updateName: () => span,
      end() {
        record.ended = true;
      },
      isRecording: () => !record.ended,
      recordException: () => undefined,
    };
    return span;
  };

  const tracer: Tracer = {
    startSpan,
    startActiveSpan(name: string, ...rest: unknown[]) {
      const fn = rest.pop() as (span: Span) => unknown;
      const [options, ctx] = rest as [SpanOptions | undefined, Context | undefined];
      const span = startSpan(name, options, ctx);
      return otelContext.with(trace.setSpan(ctx ?? otelContext.active(), span), () => fn(span));
    },
  } as Tracer;
  const provider: TracerProvider = { getTracer: () => tracer };
  otelContext.setGlobalContextManager(manager);
  trace.setGlobalTracerProvider(provider);
  return {
    spans,
    uninstall() {
      trace.disable();
      otelContext.disable();
    },
  };
}
