import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import * as ipaddr from 'ipaddr.js';
import { DataSource } from 'typeorm';
import { Environment } from '../../config/environment';
import { PeriodicTask } from '../periodic-task';

export interface RateDecision {
  allowed: boolean;
  /** Until the current window ends (0 when allowed). */
  retryAfterMs: number;
}

interface Bucket {
  window: number;
  /** Every replica's hits as of the last exchange with the database (ours included). */
  shared: number;
  /** Our hits since then. */
  unsynced: number;
}

const ALLOWED: RateDecision = { allowed: true, retryAfterMs: 0 };
/** Beyond this many live buckets (distinct keys and addresses in one window) new ones are not tracked. */
const MAX_BUCKETS = 100_000;
/** Every this many exchanges, windows older than two are deleted (any replica may do it). */
const CLEANUP_EVERY = 60;

/**
 * Fixed-window counters that hold across replicas without a round trip per request: each replica
 * decides in memory from the cluster-wide count it last saw plus its own hits since, and
 * exchanges its hits for the new total with PostgreSQL every sync interval (one statement for all
 * buckets). The budget can be overshot by at most what the other replicas admit between two
 * exchanges (replicas × rate × interval); a single replica is exact.
 */
@Injectable()
export class RateLimiter implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('RateLimiter');
  private readonly buckets = new Map<string, Bucket>();
  private readonly windowMs: number;
  private exchanges = 0;
  /** Exchanges run one at a time: two at once would both send the same unsynced hits. */
  private exchanging: Promise<void> = Promise.resolve();
  private exchangeSoon = false;
  private readonly exchange = new PeriodicTask(
    () => this.sync(),
    (error) =>
      this.logger.warn(
        { error: error instanceof Error ? error.message : String(error) },
        "could not exchange rate-limit counts; limiting on this replica's counts alone",
      ),
  );

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    environment: Environment,
  ) {
    this.windowMs = environment.RATE_LIMIT_WINDOW_MS;
  }

  onApplicationBootstrap(): void {
    this.exchange.start(Math.min(1_000, Math.max(100, Math.floor(this.windowMs / 10))));
  }

  onModuleDestroy(): Promise<void> {
    return this.exchange.stop();
  }

  /** Counts one request against `name`'s budget of `limit` per window; refused requests are not counted. */
  take(name: string, limit: number, now = Date.now()): RateDecision {
    if (limit <= 0) return ALLOWED;
    const bucket = this.bucket(name, now);
    if (!bucket) return ALLOWED;
    if (bucket.shared + bucket.unsynced >= limit) return this.refusal(now);
    bucket.unsynced += 1;
    return ALLOWED;
  }

  /** Whether `name` has used up `limit` already, without counting anything. */
  check(name: string, limit: number, now = Date.now()): RateDecision {
    if (limit <= 0) return ALLOWED;
    const bucket = this.buckets.get(name);
    if (!bucket || bucket.window !== this.windowOf(now)) return ALLOWED;
    return bucket.shared + bucket.unsynced >= limit ? this.refusal(now) : ALLOWED;
  }

  /** Counts one event (e.g. a failed authentication) whatever the budget. */
  count(name: string, now = Date.now()): void {
    const bucket = this.bucket(name, now);
    if (bucket) bucket.unsynced += 1;
  }

  /** Sends our hits of the current window, learns every replica's totals, forgets past windows. */
  sync(): Promise<void> {
    const next = this.exchanging.then(() => this.exchangeCounts(Date.now()));
    this.exchanging = next.catch(() => undefined);
    return next;
  }

  private async exchangeCounts(now: number): Promise<void> {
    const window = this.windowOf(now);
    const sent = new Map<string, number>();
    for (const [name, bucket] of this.buckets) {
      if (bucket.window !== window) this.buckets.delete(name);
      else sent.set(name, bucket.unsynced);
    }
    if (sent.size > 0) {
      const totals: Array<{ bucket: string; hits: number }> = await this.dataSource.query(
        `INSERT INTO rate_limit_counters (bucket, window_start, hits)
         SELECT name, $2::bigint, hits FROM unnest($1::text[], $3::int[]) AS sent(name, hits)
         ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limit_counters.hits + excluded.hits
         RETURNING bucket, hits`,
        [[...sent.keys()], window * this.windowMs, [...sent.values()]],
      );
      for (const { bucket: name, hits } of totals) {
        const bucket = this.buckets.get(name);
        if (!bucket || bucket.window !== window) continue;
        // Hits counted while the statement ran stay unsynced for the next exchange.
        bucket.unsynced -= sent.get(name) ?? 0;
        bucket.shared = Number(hits);
      }
    }
    if (++this.exchanges % CLEANUP_EVERY === 0) {
      await this.dataSource.query('DELETE FROM rate_limit_counters WHERE window_start < $1', [
        (window - 2) * this.windowMs,
      ]);
    }
  }

  private bucket(name: string, now: number): Bucket | undefined {
    const window = this.windowOf(now);
    let bucket = this.buckets.get(name);
    if (bucket && bucket.window !== window) bucket = undefined;
    if (!bucket) {
      if (this.buckets.size >= MAX_BUCKETS) {
        // Failing open is the lesser evil: the alternative lets one flood refuse everybody.
        return undefined;
      }
      bucket = { window, shared: 0, unsynced: 0 };
      this.buckets.set(name, bucket);
      // A bucket new to this replica knows nothing of the others' hits yet: learn them now rather
      // than at the next periodic exchange, so the overshoot is one round trip, not an interval.
      this.scheduleExchange();
    }
    return bucket;
  }

  private scheduleExchange(): void {
    if (this.exchangeSoon) return;
    this.exchangeSoon = true;
    setImmediate(() => {
      this.exchangeSoon = false;
      this.sync().catch((error: unknown) =>
        this.logger.warn(
          { error: error instanceof Error ? error.message : String(error) },
          'could not exchange rate-limit counts',
        ),
      );
    });
  }

  private refusal(now: number): RateDecision {
    return { allowed: false, retryAfterMs: (this.windowOf(now) + 1) * this.windowMs - now };
  }

  private windowOf(now: number): number {
    return Math.floor(now / this.windowMs);
  }
}

/**
 * The rate-limit identity of a client address. An IPv6 client usually holds a whole /64, so it
 * counts as one; IPv4-mapped addresses count as their IPv4 address.
 */
export function clientBucket(address: string | undefined): string {
  if (!address || !ipaddr.isValid(address)) return 'unknown';
  const parsed = ipaddr.process(address);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const parts = (parsed as ipaddr.IPv6).parts.slice(0, 4);
  return `${parts.map((part) => part.toString(16)).join(':')}::/64`;
}
