/**
 * W3C Trace Context (`traceparent`, `tracestate`) through @opentelemetry/api, without an
 * OpenTelemetry SDK: the producer writes the active span's context into an event's headers and
 * a consumer runs its handler in the context those headers carry, so anything the handler
 * publishes continues the same trace. When a tracer provider is registered, the SDK's spans
 * (`publish <type>`, `process <type>`) are real spans with their own span ids; without one they
 * are the API's non-recording spans, which carry the parent's context unchanged.
 *
 * The API alone keeps no active context (its default context manager is a no-op), so the SDK
 * registers an AsyncLocalStorage one when the process has none; an OpenTelemetry SDK started
 * before it keeps its own (the same mechanism, @opentelemetry/context-async-hooks).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  context,
  createContextKey,
  createTraceState,
  isSpanContextValid,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type ContextManager,
} from '@opentelemetry/api';

export interface TraceHeaders {
  readonly traceparent?: string;
  readonly tracestate?: string;
}

const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const tracer = () => trace.getTracer('@tributary/sdk');

/** The `traceparent` (and `tracestate`) of the active context, or none outside a trace. */
export function activeTraceHeaders(active: Context = context.active()): TraceHeaders {
  const span = trace.getSpanContext(active);
  if (span === undefined || !isSpanContextValid(span)) return {};
  const flags = (span.traceFlags & 0xff).toString(16).padStart(2, '0');
  const traceparent = `00-${span.traceId}-${span.spanId}-${flags}`;
  const tracestate = span.traceState?.serialize();
  return tracestate ? { traceparent, tracestate } : { traceparent };
}

/** A context whose remote parent is `headers.traceparent`; the root context when absent or bad. */
export function contextFromTraceHeaders(headers: TraceHeaders): Context {
  const match = traceparentPattern.exec(headers.traceparent ?? '');
  if (match === null) return ROOT_CONTEXT;
  const [, traceId = '', spanId = '', flags = '00'] = match;
  const spanContext = {
    traceId,
    spanId,
    traceFlags: Number.parseInt(flags, 16),
    isRemote: true,
    ...(headers.tracestate ? { traceState: createTraceState(headers.tracestate) } : {}),
  };
  if (!isSpanContextValid(spanContext)) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, spanContext);
}

/** Runs `work` in a span of `kind` under `parent`; the span records a thrown error. */
export function inSpan<R>(
  name: string,
  options: { kind: 'producer' | 'consumer'; parent: Context; attributes?: Record<string, string> },
  work: () => Promise<R>,
): Promise<R> {
  const kind = options.kind === 'producer' ? SpanKind.PRODUCER : SpanKind.CONSUMER;
  return tracer().startActiveSpan(
    name,
    { kind, attributes: options.attributes ?? {} },
    options.parent,
    async (span) => {
      try {
        return await work();
      } catch (error: unknown) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

class AsyncLocalContextManager implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>();

  active(): Context {
    return this.#storage.getStore() ?? ROOT_CONTEXT;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    active: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.#storage.run(active, () => fn.call(thisArg, ...args));
  }

  bind<T>(active: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const run = (...args: unknown[]): unknown =>
      this.with(active, () => (target as (...a: unknown[]) => unknown)(...args));
    return run as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.#storage.disable();
    return this;
  }
}

let contextManagerChecked = false;

/** Registers an AsyncLocalStorage context manager unless one is registered already. */
export function ensureContextManager(): void {
  if (contextManagerChecked) return;
  contextManagerChecked = true;
  const probe = createContextKey('tributary-sdk-probe');
  const registered = context.with(ROOT_CONTEXT.setValue(probe, true), () =>
    context.active().getValue(probe),
  );
  if (registered !== true) context.setGlobalContextManager(new AsyncLocalContextManager());
}
