import { ExpressAdapter } from '@nestjs/platform-express';
import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Environment } from '../../config/environment';
import { requestIdFrom } from './request-id';

/** The limits every listener of ours applies to its clients (main API and Verestro callbacks). */
export interface ServerLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
}

export function serverLimits(environment: Environment): ServerLimits {
  return {
    headersTimeoutMs: environment.HTTP_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: environment.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: environment.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    maxConnections: environment.HTTP_MAX_CONNECTIONS,
  };
}

/**
 * Options for http(s).createServer. Node checks the header and request deadlines only every
 * `connectionsCheckingInterval` (30 s by default), so a slow client could hold a connection far
 * past them: the interval follows the tightest deadline.
 */
export function serverOptions(limits: ServerLimits): http.ServerOptions {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 4))),
  };
}

/** Applies what createServer's options cannot carry, and answers malformed requests in our error shape. */
export function applyServerLimits(server: http.Server, limits: ServerLimits): void {
  server.maxConnections = limits.maxConnections;
  server.on('clientError', answerClientError);
}

const CLIENT_ERRORS: Record<string, { status: number; reason: string; code: string; message: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, reason: 'Request Timeout', code: 'REQUEST_TIMEOUT', message: 'The request was not received in time. Send it again, faster.' },
  HPE_HEADER_OVERFLOW: { status: 431, reason: 'Request Header Fields Too Large', code: 'BAD_REQUEST', message: 'The request headers are too large. Send fewer or shorter headers.' },
};

/**
 * A request Node's parser refuses (bad syntax, too slow, headers too large) never reaches
 * Express; without a handler Node answers a bare status. Ours answers the documented shape with a
 * request id, then closes the connection. A socket that is already gone is simply destroyed.
 */
function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable || (error.code === 'ECONNRESET')) {
    socket.destroy();
    return;
  }
  const known = CLIENT_ERRORS[error.code ?? ''] ?? { status: 400, reason: 'Bad Request', code: 'BAD_REQUEST', message: 'The request is not valid HTTP/1.1. Check the request line and headers.' };
  const body = JSON.stringify({ error: { code: known.code, message: known.message, details: null } });
  socket.end(
    `HTTP/1.1 ${known.status} ${known.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-ID: ${requestIdFrom({})}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Nest's Express adapter with our server: Nest creates the HTTP server itself, without options,
 * so the deadlines that need createServer are set here.
 */
export class LimitedExpressAdapter extends ExpressAdapter {
  constructor(private readonly limits: ServerLimits) {
    super();
  }

  override initHttpServer(options: { httpsOptions?: unknown; forceCloseConnections?: boolean }): void {
    if (options?.httpsOptions || options?.forceCloseConnections) throw new Error('LimitedExpressAdapter serves plain HTTP without forced closes');
    const server = http.createServer(serverOptions(this.limits), this.getInstance());
    applyServerLimits(server, this.limits);
    this.setHttpServer(server);
  }
}
