import { traceFields } from '../../observability/tracing';
import type { DestinationStream, Logger, LoggerOptions } from 'pino';
import pino from 'pino';
import pinoPretty from 'pino-pretty';
import type { Environment } from '../../config/environment';
import { requestScopeFields } from './request-scope';

/**
 * Field names whose values never reach a log line, wherever they appear in it (any depth, any
 * letter case): request headers carry API keys and signatures; request and error objects may
 * carry credentials, keys and certificates.
 */
const SENSITIVE_FIELDS = [
  'authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'payload-signature',
  'x-signature',
  'password',
  'pass',
  'passphrase',
  'secret',
  'clientSecret',
  'apiKey',
  'api_key',
  'key',
  'privateKey',
  'private_key',
  'privateKeyPem',
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'signature',
  'masterKey',
  'dataKey',
];
const SENSITIVE = new Set(SENSITIVE_FIELDS.map((field) => field.toLowerCase()));
export const REDACTED = '[REDACTED]';
/** Deeper than any object we log; past it a value is left out rather than walked without end (cycles). */
const MAX_DEPTH = 8;

/**
 * A copy of `value` with every sensitive field's value replaced by "[REDACTED]", in one walk.
 * (pino's path-based redaction needed a wildcard path per depth and field, 66 paths tried on
 * every line: 35 µs a line against 3 µs without it, 4% of the API's CPU under the bench. This
 * walk also reaches any depth, where the paths stopped at three levels.)
 */
export function redact(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[TOO DEEP]';
  if (Buffer.isBuffer(value) || value instanceof Date) return value;
  // What JSON.stringify would write for it (a URL, a decimal): its toJSON(), redacted in turn.
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return redact((toJSON as () => unknown).call(value), depth + 1);
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  const copy: Record<string, unknown> = {};
  if (value instanceof Error) {
    copy.type = value.name;
    copy.message = value.message;
  }
  for (const [field, fieldValue] of Object.entries(value)) {
    copy[field] = SENSITIVE.has(field.toLowerCase()) ? REDACTED : redact(fieldValue, depth + 1);
  }
  return copy;
}

/** pino's paths match exact names: each field as written, in lower case and capitalised (headers). */
const BINDING_PATHS = [
  ...new Set(
    SENSITIVE_FIELDS.flatMap((field) => [field, field.toLowerCase(), field[0].toUpperCase() + field.slice(1)]),
  ),
].map((field) => `["${field}"]`);

/** Fields a serializer turns into plain data first; they are redacted after it (see serializers below). */
const SERIALIZED_FIELDS = new Set(['req', 'res', 'err']);

/** Redacts a log line's own fields, leaving the serialized ones to their serializers. */
function redactFields(fields: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(fields)) {
    copy[field] = SENSITIVE.has(field.toLowerCase())
      ? REDACTED
      : SERIALIZED_FIELDS.has(field)
        ? value
        : redact(value, 1);
  }
  return copy;
}

/** pino runs `formatters` before serializers, so the serialized fields are redacted by these. */
const redactedErrorSerializer = (error: unknown): unknown => redact(pino.stdSerializers.err(error as Error));
const redactSerialized = (value: unknown): unknown => redact(value);

export function loggerOptions(environment: Environment): LoggerOptions {
  return {
    level: environment.LOG_LEVEL,
    base: { service: 'payments-backend' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }), log: redactFields },
    // A req or res field is redacted, never skipped: the access line (request-logging.ts) builds
    // its own from the fields it needs; anywhere else one is only walked for secrets.
    serializers: { err: redactedErrorSerializer, req: redactSerialized, res: redactSerialized },
    // A child logger's bindings skip `formatters.log` (pino applies it to log calls only), so
    // pino's own redaction covers their top-level fields: exact paths cost about 2 µs a line,
    // where the old wildcard paths cost 25. Nothing here binds nested secrets to a child.
    redact: { paths: BINDING_PATHS, censor: REDACTED },
    // Every line written inside a request names it (req: id, method, url); with tracing on, every
    // line written inside a span names it too (trace_id, span_id).
    mixin: environment.OTEL_EXPORTER_OTLP_ENDPOINT
      ? () => ({ ...requestScopeFields(), ...traceFields() })
      : requestScopeFields,
  };
}

/**
 * Where lines go when no stream is given: JSON to standard output, or, with LOG_FORMAT pretty,
 * through pino-pretty (after redaction: it only reformats the redacted JSON line).
 */
export function logDestination(
  environment: Environment,
  output: NodeJS.WritableStream = process.stdout,
): DestinationStream | undefined {
  if (environment.logFormat !== 'pretty') return undefined;
  return pinoPretty({
    destination: output,
    sync: true,
    colorize: output === process.stdout && process.stdout.isTTY,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
  });
}

/** The Nest token of the service's logger (createLogger's, made by AppModule). */
export const SERVICE_LOGGER = 'SERVICE_LOGGER';

/**
 * The service's logger: before Nest is up (database start, migrations), by scripts, and once Nest
 * runs for its own lines (through AppLogger) and one line per request (see request-logging.ts).
 */
export function createLogger(environment: Environment, stream?: DestinationStream): Logger {
  return pino(loggerOptions(environment), stream ?? logDestination(environment) ?? standardOutput());
}

const outputsWritingAsynchronously = new Set<DestinationStream>();

/**
 * sonic-boom's own flag for a write in flight (it has no public one). Were it renamed, this reads
 * false and an exit simply stops waiting for it: the failure mode is the one without this wait.
 */
function writeInFlight(output: DestinationStream): boolean {
  return (output as DestinationStream & { _writing?: unknown })._writing === true;
}

/**
 * Before the process exits: waits (at most `timeoutMs`) until no write of log lines is in flight.
 * pino writes what is still waiting at exit, synchronously, but a write in flight then is lost
 * (measured: the last 10–30 of 1,500 lines written into a full pipe).
 */
export async function settleLogWrites(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ([...outputsWritingAsynchronously].some(writeInFlight) && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 5));
}

/** Lines waiting for a log reader that fell behind, at most; past this, lines are dropped and counted. */
const LOG_BACKLOG_MAX_BYTES = 16 * 1024 * 1024;
let droppedLines = 0;

/**
 * JSON lines to standard output, written asynchronously: a log reader that falls behind (a full
 * pipe) never stalls the event loop. Written synchronously, it did: under the bench's 10,000-row
 * batch a line's write waited 90 µs on average and up to 15 ms, 5% of the API's wall time, during
 * which no request, notification or payout moved. Lines written meanwhile are written together
 * in the next write. They wait in memory up to LOG_BACKLOG_MAX_BYTES; past that a line is dropped
 * (counted on standard error once a minute) rather than the process growing without bound. pino
 * writes out what is waiting when the process exits (a SIGKILL loses what was not written yet).
 */
function standardOutput(): DestinationStream {
  const destination = pino.destination({ fd: 1, sync: false, maxLength: LOG_BACKLOG_MAX_BYTES });
  outputsWritingAsynchronously.add(destination);
  destination.on('drop', () => {
    if (droppedLines++ === 0)
      setTimeout(() => {
        process.stderr.write(`payments-backend: ${droppedLines} log lines dropped: the log reader fell behind\n`);
        droppedLines = 0;
      }, 60_000).unref();
  });
  return destination;
}
