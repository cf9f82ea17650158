import { type INestApplication, Logger } from '@nestjs/common';
import { ShutdownSignal } from '../shutdown/shutdown-signal';
import { ExpressAdapter } from '@nestjs/platform-express';
import * as http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Environment } from '../../config/environment';
import { ErrorCode } from '../errors/error-codes';
import { requestIdFrom } from './request-id';
import { RequestsInFlight } from './requests-in-flight';

/** The limits every listener of ours applies to its clients (main API and any provider callback listener). */
export interface ServerLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
}

export function serverLimits(environment: Environment): ServerLimits {
  return {
    // Node refuses a headers timeout longer than the request timeout (configuration also checks it).
    headersTimeoutMs: Math.min(environment.HTTP_HEADERS_TIMEOUT_MS, environment.HTTP_REQUEST_TIMEOUT_MS),
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
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 2))),
  };
}

/** Applies what createServer's options cannot carry, and answers malformed requests in our error shape. */
export function applyServerLimits(
  server: http.Server,
  limits: ServerLimits,
  log?: (code: string | undefined, reason: string) => void,
): void {
  server.maxConnections = limits.maxConnections;
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    log?.(error.code, error.message);
    answerClientError(error, socket, limits);
  });
}

/**
 * A request Node's parser refuses (bad syntax, too slow, headers too large) never reaches a
 * handler; without this Node answers a bare status. Ours answers the documented shape with a
 * request id, then closes the connection. A client that is gone, or a connection that already
 * carries an answer, is simply destroyed.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex, limits: ServerLimits): void {
  const code = error.code;
  if (code === 'ECONNRESET' || code === 'EPIPE' || !socket.writable || (socket as Socket).bytesWritten > 0) {
    socket.destroy();
    return;
  }
  const [status, errorCode, message]: [number, ErrorCode, string] =
    code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [
          408,
          ErrorCode.REQUEST_TIMEOUT,
          `The request was not received in time: send the headers within ${limits.headersTimeoutMs} ms and the whole request within ${limits.requestTimeoutMs} ms.`,
        ]
      : code === 'HPE_HEADER_OVERFLOW'
        ? [431, ErrorCode.HEADERS_TOO_LARGE, 'The request headers are too large; send fewer or shorter headers.']
        : [
            400,
            ErrorCode.BAD_REQUEST,
            'The request is not valid HTTP/1.1; check the request line, the headers and Content-Length or Transfer-Encoding.',
          ];
  const body = JSON.stringify({ error: { code: errorCode, message, details: null } });
  const head = [
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    `X-Request-ID: ${requestIdFrom({})}`,
    'Cache-Control: no-store',
    'X-Content-Type-Options: nosniff',
    'Connection: close',
  ].join('\r\n');
  try {
    socket.end(`${head}\r\n\r\n${body}`, () => socket.destroy());
    // A client that never reads must not keep the connection half-open.
    setTimeout(() => socket.destroy(), 1_000).unref();
  } catch {
    socket.destroy();
  }
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
    if (options?.httpsOptions || options?.forceCloseConnections)
      throw new Error('LimitedExpressAdapter serves plain HTTP without forced closes');
    const server = http.createServer(serverOptions(this.limits), this.getInstance());
    applyServerLimits(server, this.limits);
    this.setHttpServer(server);
  }

  private draining: Promise<void> | undefined;

  /** The requests the app is still working on (configureApp puts its middleware first). */
  readonly requestsInFlight = new RequestsInFlight();

  /**
   * Stops taking connections, closes the idle ones, and gives the requests in progress
   * SHUTDOWN_DRAIN_MS to finish before their connections are cut. Node's own close waits for every
   * connection with no bound: one client holding an upload open (or a keep-alive connection
   * whose last request ended after close began) kept the shutdown waiting forever. Called by
   * closeGracefully before anything else stops, and again by Nest's close (then a no-op).
   */
  drain(): Promise<void> {
    const server = this.getHttpServer() as http.Server | undefined;
    if (!server?.listening) return this.draining ?? Promise.resolve();
    this.draining = new Promise<void>((resolve) => {
      const cutoff = setTimeout(() => server.closeAllConnections(), SHUTDOWN_DRAIN_MS);
      cutoff.unref();
      // Connections whose last request ends during the drain are idle then, not before: close them as they get there.
      const idle = setInterval(() => server.closeIdleConnections(), 100);
      idle.unref();
      server.close(() => {
        clearTimeout(cutoff);
        clearInterval(idle);
        resolve();
      });
    });
    return this.draining;
  }

  override close(): Promise<void> {
    return this.drain();
  }
}

/**
 * Closes the app HTTP first: no request starts while the background work (reconciler,
 * deliveries, batch runner) stops. The requests in progress get SHUTDOWN_DRAIN_MS to be answered
 * before their connections are cut, and the handlers still at work then (a provider yet to
 * answer) get until SHUTDOWN_REQUESTS_MS, all while everything they use is still running. Nest's
 * own close runs the destroy hooks first and closes the listener after them.
 */
export async function closeGracefully(app: INestApplication): Promise<void> {
  const started = Date.now();
  // The background work claims nothing new from here on; requests in progress still run.
  app.get(ShutdownSignal).begin();
  const adapter = app.getHttpAdapter();
  if (adapter instanceof LimitedExpressAdapter) {
    await adapter.drain();
    // Requests whose connections the drain cut (or whose clients left) may still be recording what
    // a provider answered: the modules and the pool they use stay until they are done, or until
    // SHUTDOWN_REQUESTS_MS from the start of the shutdown.
    const left = await adapter.requestsInFlight.settled(started + SHUTDOWN_REQUESTS_MS - Date.now());
    if (left > 0)
      new Logger('Shutdown').warn(
        { requests: left },
        'requests still running when the shutdown went on; what they were doing is left to idempotent retries and the reconciler',
      );
  }
  await app.close();
}

/** How long a shutdown waits for the requests in progress to be answered before it cuts their connections. */
export const SHUTDOWN_DRAIN_MS = 5_000;

/**
 * How long from the start of a shutdown the requests still being worked on (their connections cut
 * by the drain, or their clients gone) may take before the modules stop under them. Within
 * main.ts's SHUTDOWN_GRACE_MS (15 s), leaving at least 7.5 s to stop the background work (which
 * waits for its own provider calls) and the database.
 */
export const SHUTDOWN_REQUESTS_MS = 7_500;
