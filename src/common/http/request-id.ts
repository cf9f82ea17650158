import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The request id: the caller's X-Request-ID when it is a sane one (so a trace crosses services),
 * otherwise a fresh UUID.
 */
export function requestIdFrom(headers: IncomingMessage['headers']): string {
  const offered = headers['x-request-id'];
  return typeof offered === 'string' && REQUEST_ID.test(offered) ? offered : randomUUID();
}

/**
 * The first middleware of the main listener: every response, including those that body parsing
 * or a refused request produce before any route runs, carries X-Request-ID. The logger reuses
 * `req.id`, so log lines and the header agree.
 */
export function assignRequestId(
  request: IncomingMessage & { id?: unknown },
  response: ServerResponse,
  next: () => void,
): void {
  const id = requestIdFrom(request.headers);
  request.id = id;
  response.setHeader('X-Request-ID', id);
  next();
}
