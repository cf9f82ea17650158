import { request as httpRequest } from 'node:http';
import type { RequestOptions } from 'node:https';
import { request as httpsRequest } from 'node:https';

export interface OutboundResult {
  status: number;
  body: string;
}

/** One outbound POST from a simulator (notifications, webhooks, callbacks). */
export function post(
  url: string,
  body: string | Buffer,
  headers: Record<string, string>,
  tls: Pick<RequestOptions, 'cert' | 'key' | 'ca'> = {},
  timeoutMs = 10_000,
): Promise<OutboundResult> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'Content-Length': Buffer.byteLength(body) },
        timeout: timeoutMs,
        ...tls,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

/** Delivery attempts a Deliverer keeps (the bench's 10,000-row batch alone makes about 20,000). */
const MAX_LOGGED_ATTEMPTS = 50_000;

/**
 * At-least-once delivery: retries until the receiver acknowledges, with the given delays.
 * `duplicate` sends an acknowledged delivery once more; `reorderWindowMs` holds each delivery
 * for a random time so that later ones can overtake it. Both happen with real providers.
 */
export class Deliverer {
  /**
   * The latest attempts, oldest first: at least the last `maxLoggedAttempts`, at most twice as
   * many (a long-lived simulator must not grow without end).
   */
  readonly log: Array<{ url: string; attempt: number; status: number | null; at: string; acknowledged: boolean }> = [];
  private pending = 0;
  private closed = false;

  constructor(
    private readonly options: () => { retryDelaysMs: number[]; duplicate: boolean; reorderWindowMs: number },
    private readonly random: () => number = Math.random,
    private readonly maxLoggedAttempts = MAX_LOGGED_ATTEMPTS,
  ) {}

  get inFlight(): number {
    return this.pending;
  }

  deliver(url: string, send: () => Promise<OutboundResult>, acknowledged: (result: OutboundResult) => boolean): void {
    const { duplicate, reorderWindowMs } = this.options();
    const copies = duplicate ? 2 : 1;
    for (let copy = 0; copy < copies; copy++) {
      this.pending++;
      const hold = reorderWindowMs > 0 ? Math.floor(this.random() * reorderWindowMs) : 0;
      setTimeout(() => void this.attempt(url, send, acknowledged, 0), hold).unref();
    }
  }

  close(): void {
    this.closed = true;
  }

  private async attempt(
    url: string,
    send: () => Promise<OutboundResult>,
    acknowledged: (result: OutboundResult) => boolean,
    attempt: number,
  ): Promise<void> {
    if (this.closed) return void this.pending--;
    let result: OutboundResult | null = null;
    try {
      result = await send();
    } catch {
      result = null;
    }
    const ok = result !== null && acknowledged(result);
    this.log.push({
      url,
      attempt: attempt + 1,
      status: result?.status ?? null,
      at: new Date().toISOString(),
      acknowledged: ok,
    });
    // Trimmed in one splice per maxLoggedAttempts attempts, not one per attempt.
    if (this.log.length > 2 * this.maxLoggedAttempts) this.log.splice(0, this.log.length - this.maxLoggedAttempts);
    const delays = this.options().retryDelaysMs;
    if (ok || attempt >= delays.length) {
      this.pending--;
      return;
    }
    setTimeout(() => void this.attempt(url, send, acknowledged, attempt + 1), delays[attempt]).unref();
  }
}
