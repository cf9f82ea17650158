import { HttpException, HttpStatus } from '@nestjs/common';
import type { ErrorBody } from './api-error';
import { ApiError } from './api-error';
import { ErrorCode } from './error-codes';

export interface ErrorResponse {
  status: number;
  body: ErrorBody;
  headers?: Record<string, string>;
}

interface RequestLike {
  method?: string;
  originalUrl?: string;
  url?: string;
  id?: unknown;
}

/** Errors raised by body-parser before a route runs carry a `type` such as 'entity.too.large'. */
interface BodyParserError {
  type: string;
  status: number;
  limit?: number;
}

function isBodyParserError(error: unknown): error is BodyParserError {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as BodyParserError).type === 'string' &&
    typeof (error as BodyParserError).status === 'number'
  );
}

/**
 * Errors from other layers (providers) that carry their own HTTP status and stable code. Their
 * messages are written by the product and never contain secrets.
 */
interface DomainError extends Error {
  httpStatus: number;
  code: ErrorCode;
  capability?: string;
  providerCode?: string;
  /** A finer stable name for a provider's refusal, e.g. BANK_CODE_UNKNOWN. */
  reason?: string;
}

function isDomainError(error: unknown): error is DomainError {
  return (
    error instanceof Error &&
    typeof (error as DomainError).httpStatus === 'number' &&
    typeof (error as DomainError).code === 'string'
  );
}

/**
 * body-parser wraps a failing decompression (zlib's Z_DATA_ERROR, Z_BUF_ERROR, …) in a 400
 * without a `type`; it is the client's broken body, not our fault.
 */
function isUndecodableBody(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    error instanceof Error &&
    (error as { status?: unknown }).status === 400 &&
    typeof code === 'string' &&
    /^(Z_|ERR_BROTLI|ERR__ZLIB)/.test(code)
  );
}

/**
 * The database could not be had: pg-pool's checkout timed out (every connection busy), a new
 * connection timed out, or PostgreSQL refused it for now (SQLSTATE class 08, too many
 * connections, shutting down or starting up). Overload and restarts are transient: the caller
 * should come back, not report a bug.
 */
const POOL_MESSAGES = new Set([
  'timeout exceeded when trying to connect',
  'Connection terminated due to connection timeout',
]);
// 55P03: a lock_timeout ran out (payouts queued on a payout policy's lock): busy, send it again.
const UNAVAILABLE_SQLSTATES = new Set(['53300', '55P03', '57P01', '57P02', '57P03']);

function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (POOL_MESSAGES.has(error.message)) return true;
  const sqlState =
    (error as { driverError?: { code?: unknown } }).driverError?.code ?? (error as { code?: unknown }).code;
  return typeof sqlState === 'string' && (sqlState.startsWith('08') || UNAVAILABLE_SQLSTATES.has(sqlState));
}

/** Seconds a client waits before retrying when the database is busy: pool waits are short. */
const DATABASE_RETRY_AFTER_SECONDS = 1;

const STATUS_CODES: Partial<Record<number, ErrorCode>> = {
  400: ErrorCode.BAD_REQUEST,
  401: ErrorCode.UNAUTHENTICATED,
  403: ErrorCode.FORBIDDEN_SCOPE,
  404: ErrorCode.NOT_FOUND,
  405: ErrorCode.METHOD_NOT_ALLOWED,
  409: ErrorCode.CONFLICT,
  413: ErrorCode.PAYLOAD_TOO_LARGE,
  415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
  429: ErrorCode.TOO_MANY_REQUESTS,
  503: ErrorCode.NOT_READY,
};

function body(code: ErrorCode, message: string, details: unknown = null): ErrorBody {
  return { error: { code, message, details } };
}

/**
 * Turns anything thrown while handling a request into the one error shape
 * `{"error":{"code","message","details"}}`. Unknown errors become INTERNAL with no
 * detail at all: stack traces, SQL and driver messages never reach a response.
 */
export function toErrorResponse(exception: unknown, request: RequestLike): ErrorResponse {
  if (exception instanceof ApiError) {
    return {
      status: exception.status,
      body: body(exception.code, exception.message, exception.details),
      headers: exception.headers,
    };
  }

  if (isDomainError(exception)) {
    const details = exception.capability
      ? { capability: exception.capability }
      : exception.providerCode
        ? { providerCode: exception.providerCode, ...(exception.reason ? { reason: exception.reason } : {}) }
        : null;
    return { status: exception.httpStatus, body: body(exception.code, exception.message, details) };
  }

  if (isBodyParserError(exception)) {
    switch (exception.type) {
      case 'entity.parse.failed':
        return {
          status: 400,
          body: body(ErrorCode.MALFORMED_JSON, 'The request body is not valid JSON. Send a well-formed JSON document.'),
        };
      case 'entity.too.large':
        return {
          status: 413,
          body: body(
            ErrorCode.PAYLOAD_TOO_LARGE,
            `The request body is larger than the ${exception.limit ?? 1048576}-byte limit. Send a smaller body.`,
            { limitBytes: exception.limit ?? 1048576 },
          ),
        };
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return {
          status: 415,
          body: body(
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            'The request body must be UTF-8 JSON, sent as is or with Content-Encoding gzip, deflate or br.',
          ),
        };
      default:
        if (exception.status >= 400 && exception.status < 500) {
          return {
            status: exception.status,
            body: body(
              STATUS_CODES[exception.status] ?? ErrorCode.BAD_REQUEST,
              'The request body could not be read. Send it again.',
            ),
          };
        }
    }
  }

  if (isUndecodableBody(exception)) {
    return {
      status: 400,
      body: body(
        ErrorCode.BAD_CONTENT_ENCODING,
        'The request body could not be decoded with the Content-Encoding it names. Send it compressed correctly, or uncompressed without that header.',
      ),
    };
  }

  if (isDatabaseUnavailable(exception)) {
    return {
      status: 503,
      body: body(
        ErrorCode.DATABASE_BUSY,
        `The service is too busy to take this request now. Retry in ${DATABASE_RETRY_AFTER_SECONDS} second (a create with the same Idempotency-Key).`,
        { retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS },
      ),
      headers: { 'Retry-After': String(DATABASE_RETRY_AFTER_SECONDS) },
    };
  }

  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const code = STATUS_CODES[status] ?? (status >= 500 ? ErrorCode.INTERNAL : ErrorCode.BAD_REQUEST);
    if (status === Number(HttpStatus.NOT_FOUND)) {
      return {
        status,
        body: body(
          code,
          `No route matches ${request.method ?? 'this method'} ${pathOf(request)}. Check the method and path against /docs.`,
        ),
      };
    }
    if (status === Number(HttpStatus.SERVICE_UNAVAILABLE)) {
      // @nestjs/terminus puts the per-check results in the response; they hold no secrets.
      return {
        status,
        body: body(
          code,
          'The service is not ready: a dependency is down. See details for which one.',
          exception.getResponse(),
        ),
      };
    }
    if (status < 500) {
      const response = exception.getResponse();
      const message = typeof response === 'string' ? response : (response as { message?: unknown }).message;
      return {
        status,
        body: body(
          code,
          typeof message === 'string' ? sentence(message) : 'The request was refused. Check it against /docs.',
        ),
      };
    }
  }

  return {
    status: 500,
    body: body(
      ErrorCode.INTERNAL,
      `An unexpected error occurred. Retry later; if it keeps happening, report request id ${typeof request.id === 'string' || typeof request.id === 'number' ? request.id : 'unknown'}.`,
    ),
  };
}

function pathOf(request: RequestLike): string {
  return (request.originalUrl ?? request.url ?? '/').split('?')[0];
}

function sentence(message: string): string {
  const trimmed = message.trim();
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

/**
 * What may be logged about an unexpected error. TypeORM's QueryFailedError carries the SQL
 * parameters (which can hold secrets or hashes), so only the name, message, SQLSTATE and stack go out.
 */
export function loggableError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { value: typeof error };
  const driverCode =
    (error as { code?: unknown; driverError?: { code?: unknown } }).driverError?.code ??
    (error as { code?: unknown }).code;
  return { type: error.name, message: error.message, sqlState: driverCode, stack: error.stack };
}
