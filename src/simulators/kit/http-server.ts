import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server, ServerOptions } from 'node:https';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { FaultInjector } from './faults';

/**
 * A small HTTPS server for a simulator: raw bodies (signatures are over exact bytes), a route
 * table, fault injection per route, and counters of TLS handshakes and requests.
 */
export interface SimRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  rawBody: Buffer;
  params: Record<string, string>;
  remoteAddress: string;
  host: string;
  socket: TLSSocket;
}

export interface SimResponse {
  status: number;
  body?: unknown;
  /** Sent as is (text) instead of JSON. */
  text?: string;
  headers?: Record<string, string>;
}

/**
 * A parsed body field as text. Objects and arrays become their JSON text, not "[object Object]",
 * so a malformed request is checked (lengths, lookups) against what it actually sent.
 */
export function fieldText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

export type SimHandler = (request: SimRequest) => Promise<SimResponse> | SimResponse;

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  key: string;
  handler: SimHandler;
}

export interface Counters {
  handshakes: number;
  requests: number;
  responses: Record<string, number>;
  /** Serial number of the client certificate on the latest request (mTLS listeners). */
  lastClientSerial?: string;
}

const MAX_BODY = 1024 * 1024;

export class SimServer {
  readonly faults: FaultInjector;
  readonly counters: Counters = { handshakes: 0, requests: 0, responses: {} };
  /** Added to this server's clock in its Date header: a provider whose clock is off (PUT /{name}/clock). */
  clockOffsetSeconds = 0;
  private readonly routes: Route[] = [];
  private fallback: SimHandler = () => ({ status: 404, body: { error: 'not found' } });
  private server: Server | undefined;

  constructor(
    readonly name: string,
    private readonly tls: ServerOptions,
    seed = 1,
  ) {
    this.faults = new FaultInjector(seed);
  }

  route(method: string, path: string, handler: SimHandler): this {
    const names: string[] = [];
    const pattern = new RegExp(
      '^' +
        path.replace(/\//g, '\\/').replace(/:([A-Za-z]+)/g, (_m, name: string) => (names.push(name), '([^/]+)')) +
        '$',
    );
    this.routes.push({ method, pattern, names, key: `${method} ${path}`, handler });
    return this;
  }

  otherwise(handler: SimHandler): this {
    this.fallback = handler;
    return this;
  }

  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    const server = createServer({ ...this.tls, minVersion: 'TLSv1.2' }, (req, res) => void this.dispatch(req, res));
    server.on('secureConnection', () => this.counters.handshakes++);
    // Keep-alive long enough that a pooled client never reconnects between calls.
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.counters.requests++;
    const peer = (req.socket as TLSSocket).getPeerCertificate?.();
    if (peer?.serialNumber) this.counters.lastClientSerial = peer.serialNumber.toLowerCase();
    const url = new URL(req.url ?? '/', 'https://simulator');
    const method = req.method ?? 'GET';
    let route: Route | undefined;
    let params: Record<string, string> = {};
    for (const candidate of this.routes) {
      if (candidate.method !== method) continue;
      const match = candidate.pattern.exec(url.pathname);
      if (match) {
        route = candidate;
        params = Object.fromEntries(candidate.names.map((name, i) => [name, decodeURIComponent(match[i + 1])]));
        break;
      }
    }
    const { decision, settings } = this.faults.decide(route?.key ?? `${method} ${url.pathname}`);
    if (settings?.latencyMs) await new Promise((resolve) => setTimeout(resolve, settings.latencyMs));
    if (decision === 'reset') return void req.socket.destroy();
    if (decision === 'timeout') {
      setTimeout(() => req.socket.destroy(), settings?.hangMs ?? 30_000).unref();
      return;
    }
    if (decision === 'error') return this.send(res, { status: 500, body: { error: 'injected fault' } });

    let rawBody: Buffer;
    try {
      rawBody = await readBody(req);
    } catch {
      return this.send(res, { status: 413, body: { error: 'body too large' } });
    }
    const request: SimRequest = {
      method,
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      rawBody,
      params,
      remoteAddress: req.socket.remoteAddress ?? '',
      host: req.headers.host ?? '',
      socket: req.socket as TLSSocket,
    };
    let response: SimResponse;
    try {
      response = await (route ? route.handler(request) : this.fallback(request));
    } catch (error) {
      response = {
        status: 500,
        body: { error: 'simulator error', message: error instanceof Error ? error.message : String(error) },
      };
    }
    if (decision === 'drop-response') return void req.socket.destroy();
    if (decision === 'malformed') return this.send(res, malformed(response, settings?.malformedBody));
    this.send(res, response);
  }

  private send(res: ServerResponse, response: SimResponse): void {
    this.counters.responses[response.status] = (this.counters.responses[response.status] ?? 0) + 1;
    const body = response.text ?? (response.body === undefined ? '' : JSON.stringify(response.body));
    res.writeHead(response.status, {
      'Content-Type': response.text !== undefined ? 'text/plain; charset=utf-8' : 'application/json',
      'Content-Length': Buffer.byteLength(body),
      Date: new Date(Date.now() + this.clockOffsetSeconds * 1000).toUTCString(),
      ...response.headers,
    });
    res.end(body);
  }
}

/** The same status with a body that breaks the documented shape (see FaultSettings.malformedRate). */
function malformed(response: SimResponse, body: string | undefined): SimResponse {
  const real = response.text ?? (response.body === undefined ? '' : JSON.stringify(response.body));
  // Still labelled JSON, as a provider with a bug would.
  return {
    status: response.status,
    headers: { 'Content-Type': 'application/json', ...response.headers },
    text: body ?? real.slice(0, Math.floor(real.length / 2)),
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new Error('too large'));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function basicCredentials(header: string | undefined): { user: string; password: string } | null {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? '');
  if (!match) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
