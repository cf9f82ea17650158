import { context, trace, type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';

/**
 * OpenTelemetry tracing, off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (see tracing-init.ts, which
 * starts the SDK before anything it instruments is loaded). Without the SDK the API's tracer is a
 * no-op: the spans below cost nothing measurable.
 */
const tracer = trace.getTracer('payments-backend');

/** The bounded attributes of a provider call span: never its URL, headers or body. */
export interface ProviderCallAttributes {
  provider: string;
  environment: string;
  operation: string;
  method: string;
}

/**
 * Runs a provider call inside its own client span (`provider <name> <operation>`), carrying
 * provider, environment, operation and method only: paths may carry ids and bodies carry account
 * data, so neither is recorded, and no header is (signatures, tokens, Basic credentials).
 */
export function inProviderSpan<T>(attributes: ProviderCallAttributes, call: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(
    `provider ${attributes.provider} ${attributes.operation}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'payments.provider': attributes.provider,
        'payments.environment': attributes.environment,
        'payments.operation': attributes.operation,
        'http.request.method': attributes.method,
      },
    },
    async (span) => {
      try {
        return await call(span);
      } catch (error) {
        const code = (error as { code?: unknown } | null)?.code;
        span.setStatus({ code: SpanStatusCode.ERROR, message: typeof code === 'string' ? code : 'error' });
        if (typeof code === 'string') span.setAttribute('payments.error_code', code);
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

/** The active trace and span ids, for log lines (empty when no span is active, tracing off included). */
export function traceFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}
