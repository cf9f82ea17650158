import type { TLSSocket } from 'node:tls';
import { connect } from 'node:tls';

/**
 * A hand-rolled HTTP/1.1 client over mutual TLS for the Verestro callback listener: it writes
 * exactly the bytes a test wants (lying Content-Length, partial request lines, trickled bodies,
 * aborts) and reads whatever comes back, including the connection closing without an answer.
 */
export interface ClientIdentity {
  ca: string;
  cert: string;
  key: string;
}

export interface RawAnswer {
  /** 0 when the connection closed without an HTTP answer. */
  status: number;
  headers: Record<string, string>;
  text: string;
  /** ms from the start of reading until the answer was complete or the connection closed. */
  elapsedMs: number;
  closed: boolean;
}

export function open(url: string, identity: ClientIdentity): Promise<TLSSocket> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(
      {
        host: target.hostname,
        port: Number(target.port),
        ca: identity.ca,
        cert: identity.cert,
        key: identity.key,
        servername: 'localhost',
      },
      () => resolve(socket),
    );
    socket.once('error', reject);
  });
}

/**
 * Reads one answer: resolves when a full response (by Content-Length) arrived, when the
 * connection closed, or after timeoutMs (status 0, closed false).
 */
export function readAnswer(
  socket: TLSSocket,
  timeoutMs = 10_000,
  options: { bodyless?: boolean } = {},
): Promise<RawAnswer> {
  const started = Date.now();
  return new Promise((resolve) => {
    let buffer = Buffer.alloc(0);
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      const parsed = parse(buffer);
      resolve({ ...(parsed ?? { status: 0, headers: {}, text: '' }), elapsedMs: Date.now() - started, closed });
    };
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const parsed = parse(buffer);
      // An answer to HEAD has a Content-Length but no body.
      if (parsed && (parsed.complete || (options.bodyless && parsed.status >= 200))) finish(socket.destroyed);
    };
    const onClose = () => finish(true);
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', () => undefined); // resets are an outcome here, not a failure
  });
}

function parse(
  buffer: Buffer,
): { status: number; headers: Record<string, string>; text: string; complete: boolean } | null {
  const end = buffer.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine, ...lines] = buffer.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const body = buffer.subarray(end + 4);
  const length = Number(headers['content-length'] ?? NaN);
  return { status, headers, text: body.toString('utf8'), complete: Number.isFinite(length) && body.length >= length };
}

/** Resolves true once the connection is closed by the other side, false after timeoutMs. */
export function closedWithin(socket: TLSSocket, timeoutMs: number): Promise<boolean> {
  if (socket.destroyed || socket.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    const done = () => {
      clearTimeout(timer);
      resolve(true);
    };
    socket.once('close', done);
    socket.once('end', done);
    socket.resume();
  });
}

/** Opens a connection, writes the bytes, reads one answer and closes. */
export async function exchange(
  url: string,
  identity: ClientIdentity,
  bytes: string | Buffer,
  timeoutMs = 10_000,
): Promise<RawAnswer> {
  const socket = await open(url, identity);
  try {
    const answer = readAnswer(socket, timeoutMs);
    socket.write(bytes);
    return await answer;
  } finally {
    socket.destroy();
  }
}

/** A request head in HTTP/1.1 syntax (no body). */
export function head(method: string, path: string, headers: Record<string, string | number> = {}): string {
  return `${method} ${path} HTTP/1.1\r\nHost: localhost\r\n${Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')}\r\n`;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
