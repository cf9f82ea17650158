/**
 * An open-loop load at a fixed rate, evenly spaced: request i is due at start + i / rate, whatever
 * the answers before it did. Its latency is measured from when it was due, not from when it went
 * out, so a server that falls behind is charged for the wait it causes (no "coordinated omission").
 *
 * Why not autocannon's overallRate: autocannon sends each connection's share of a second as fast as
 * it can at the start of the second, then pauses until the next one. At "half the maximum rate" the
 * server therefore ran at its maximum rate for half of every second, and the latencies were those of
 * a saturated server (added p50 49 ms at 63/s, against 8 ms one request at a time).
 */
import { performance } from 'node:perf_hooks';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface PacedRequest {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
}

export interface PacedOptions {
  url: string;
  ratePerSecond: number;
  durationSeconds: number;
  /** At most this many requests in flight (keep-alive connections); a due request waits for one. */
  connections: number;
  /** Trusted roots for an https URL. */
  ca?: string;
  /** Builds each request when it is due (a fresh Idempotency-Key, a fresh signature, …). */
  next: () => PacedRequest;
  /**
   * Told how each request ended (errors too), its due time (epoch ms) and the time from then to
   * its end, to line a tail up with what ran then.
   */
  onEnd?: (dueAtEpochMs: number, latencyMs: number, outcome: 'ok' | 'non2xx' | 'error') => void;
}

export interface PacedResult {
  ok: number;
  non2xx: number;
  errors: number;
  requestsPerSecond: number;
  /** From each request's due time to its whole answer, ms. */
  p50: number;
  p99: number;
}

const REQUEST_TIMEOUT_MS = 10_000;

function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)];
}

export async function pacedLoad(options: PacedOptions): Promise<PacedResult> {
  const target = new URL(options.url);
  const secure = target.protocol === 'https:';
  const agent = secure
    ? new HttpsAgent({ keepAlive: true, maxSockets: options.connections, ca: options.ca })
    : new HttpAgent({ keepAlive: true, maxSockets: options.connections });
  const send = secure ? httpsRequest : httpRequest;
  const total = Math.max(1, Math.round(options.ratePerSecond * options.durationSeconds));
  const intervalMs = 1000 / options.ratePerSecond;
  const latencies: number[] = [];
  let ok = 0;
  let non2xx = 0;
  let errors = 0;

  const one = (dueAt: number): Promise<void> =>
    new Promise((resolve) => {
      // Each request is counted once, however it ends (an answer, a reset, a timeout mid-answer).
      let settled = false;
      const settle = (outcome: 'ok' | 'non2xx' | 'error'): void => {
        if (settled) return;
        settled = true;
        const latency = performance.now() - dueAt;
        options.onEnd?.(performance.timeOrigin + dueAt, latency, outcome);
        if (outcome === 'error') errors += 1;
        else {
          latencies.push(latency);
          if (outcome === 'ok') ok += 1;
          else non2xx += 1;
        }
        resolve();
      };
      const { method, headers, body } = options.next();
      const outgoing = send(
        target,
        {
          method,
          agent,
          headers: body === undefined ? headers : { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
        },
        (response) => {
          response.resume();
          const status = response.statusCode ?? 0;
          response.on('end', () => settle(status >= 200 && status < 300 ? 'ok' : 'non2xx'));
          response.on('error', () => settle('error'));
        },
      );
      // A request unanswered this long counts as an error (as autocannon's timeouts did), so one
      // hung request cannot stall the run.
      outgoing.setTimeout(REQUEST_TIMEOUT_MS, () => outgoing.destroy(new Error('timed out')));
      outgoing.on('error', () => settle('error'));
      outgoing.end(body);
    });

  const startedAt = performance.now();
  const pending: Array<Promise<void>> = [];
  for (let sent = 0; sent < total;) {
    const now = performance.now();
    // Every request due by now goes out now (a late timer does not thin the load out).
    while (sent < total && startedAt + sent * intervalMs <= now) {
      pending.push(one(startedAt + sent * intervalMs));
      sent += 1;
    }
    if (sent < total) {
      const wait = startedAt + sent * intervalMs - performance.now();
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, wait)));
    }
  }
  await Promise.all(pending);
  const elapsedSeconds = (performance.now() - startedAt) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    ok,
    non2xx,
    errors,
    requestsPerSecond: Math.round((ok + non2xx) / elapsedSeconds),
    p50: Math.round(percentile(latencies, 0.5) * 10) / 10,
    p99: Math.round(percentile(latencies, 0.99) * 10) / 10,
  };
}
