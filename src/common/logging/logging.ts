import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DestinationStream, Logger, LoggerOptions } from 'pino';
import pino from 'pino';
import type { Options as PinoHttpOptions } from 'pino-http';
import type { Environment } from '../../config/environment';
import { requestIdFrom } from '../http/request-id';

/**
 * Paths pino replaces with "[REDACTED]" wherever they appear in a log line. Request headers
 * carry API keys; request and error objects may carry credentials, keys and certificates.
 * (fast-redact wildcards match one level, hence the nested variants.)
 */
const SENSITIVE_FIELDS = [
  'authorization',
  'cookie',
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

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["payload-signature"]',
  'req.headers["x-signature"]',
  'res.headers["set-cookie"]',
  ...SENSITIVE_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]),
];

export function loggerOptions(environment: Environment): LoggerOptions {
  return {
    level: environment.LOG_LEVEL,
    base: { service: 'payments-backend' },
    redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
}

/** The logger used before Nest is up (database start, migrations) and by scripts. */
export function createBootLogger(environment: Environment, stream?: DestinationStream): Logger {
  return pino(loggerOptions(environment), stream ?? pino.destination({ fd: 1, sync: true }));
}

/**
 * Per-request logging, under the request id (see request-id.ts).
 */
export function httpLoggerOptions(environment: Environment, stream?: DestinationStream): PinoHttpOptions {
  return {
    ...loggerOptions(environment),
    stream,
    // assignRequestId (the first middleware) has normally set req.id already; pino-http keeps it.
    genReqId: (req: IncomingMessage, res: ServerResponse) => {
      const id = requestIdFrom(req.headers);
      res.setHeader('X-Request-ID', id);
      return id;
    },
    customLogLevel: (_req, res, error) =>
      error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
    // Probes hit health every few seconds; logging each one only drowns the useful lines.
    autoLogging: { ignore: (req) => (req.url ?? '').startsWith('/health') },
    serializers: {
      req: (req: {
        id: unknown;
        method: string;
        url: string;
        remoteAddress?: string;
        headers: Record<string, unknown>;
      }) => ({
        id: req.id,
        method: req.method,
        url: req.url,
        remoteAddress: req.remoteAddress,
        headers: { 'user-agent': req.headers['user-agent'], authorization: req.headers.authorization },
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  };
}
