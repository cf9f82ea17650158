import type { Agent } from 'node:https';
import { request } from 'node:https';
import type { RunningSimulators } from '../../src/simulators/simulators';
import { startSimulators } from '../../src/simulators/simulators';

/** Simulators on free ports with short timelines and retries, fresh state. */
export function startTestSimulators(seed = 1): Promise<RunningSimulators> {
  return startSimulators({
    fast: true,
    seed,
    ports: { admin: 0, d24: 0, connectpayMtls: 0, connectpayOneWay: 0, verestro: 0 },
  });
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: <T = Record<string, unknown>>() => T;
}

export interface RawRequest {
  method: string;
  url: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  ca: string;
  cert?: string;
  key?: string;
  agent?: Agent;
}

/** One HTTPS call with exact body bytes, as a hand-written client following the provider docs. */
export function call(options: RawRequest): Promise<RawResponse> {
  const target = new URL(options.url);
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method: options.method,
        headers: {
          ...(options.body !== undefined ? { 'Content-Length': String(Buffer.byteLength(options.body)) } : {}),
          ...options.headers,
        },
        ca: options.ca,
        cert: options.cert,
        key: options.key,
        agent: options.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: <T>() => JSON.parse(text) as T });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

export async function admin<T = Record<string, unknown>>(
  sims: RunningSimulators,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const response = await fetch(`${sims.urls.admin}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
}

export async function eventually<T>(
  probe: () => Promise<T> | T,
  accept: (value: T) => boolean,
  timeoutMs = 5_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T;
  do {
    last = await probe();
    if (accept(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 25));
  } while (Date.now() < deadline);
  throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(last)}`);
}
