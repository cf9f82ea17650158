import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { constants as performanceConstants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { withDeadline } from '../common/deadline';

/**
 * Seconds buckets for calls that take milliseconds to seconds (HTTP answers, provider calls):
 * fine below 100 ms where the API lives, coarse up to the provider timeouts.
 */
const CALL_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Seconds from a payout's creation to its final state: seconds for a simulator, hours or days for a bank. */
const SETTLEMENT_BUCKETS = [1, 5, 15, 60, 300, 900, 3_600, 4 * 3_600, 24 * 3_600, 3 * 24 * 3_600];

/** Gauges read at scrape time (backlogs, expiries) from the module that owns them. */
export type ScrapeCollector = () => Promise<void> | void;
/** How long a scrape waits for the collectors before answering with what it has. */
const COLLECT_TIMEOUT_MS = 2_000;

/**
 * How often the event-loop delay is sampled (nodejs_eventloop_lag_*), ms. Its figures include this
 * interval: an idle loop reads about 20 ms, and what lies above it is how late the loop ran.
 */
export const EVENT_LOOP_SAMPLING_MS = 20;

/** A GC entry's kind (`detail.kind` since Node 16; @types/node's PerformanceEntry does not declare it). */
function gcKindOf(entry: PerformanceEntry): string {
  const detail: unknown = Reflect.get(entry, 'detail');
  const kind =
    typeof detail === 'object' && detail !== null && 'kind' in detail && typeof detail.kind === 'number'
      ? detail.kind
      : -1;
  return GC_KINDS[kind] ?? 'other';
}

/** prom-client's own buckets for nodejs_gc_duration_seconds, kept so dashboards read the same. */
const GC_BUCKETS = [0.001, 0.01, 0.1, 1, 2, 5];
const GC_KINDS: Record<number, string> = {
  [performanceConstants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [performanceConstants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [performanceConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [performanceConstants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/**
 * The service's Prometheus metrics, on a registry of its own (not prom-client's global one, so
 * two apps in one process, as in tests, never share counters).
 *
 * Label values are only ever bounded, non-secret values: route templates (never a path with ids),
 * provider, environment, operation and status names, stable error codes. Never a key, an
 * account, a reference, an id or anything a caller chose; a test asserts it.
 */
@Injectable()
export class Metrics implements OnModuleDestroy {
  private readonly logger = new Logger('Metrics');
  readonly registry = new Registry();
  private readonly collectors: ScrapeCollector[] = [];

  readonly httpRequestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'API requests by method, route template and status code, from the first byte read to the last byte written.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: CALL_BUCKETS,
    registers: [this.registry],
  });

  readonly payoutsCreated = new Counter({
    name: 'payouts_created_total',
    help: 'Payouts stored (requested or pending approval), by provider and environment.',
    labelNames: ['provider', 'environment'] as const,
    registers: [this.registry],
  });

  readonly payoutsTransitions = new Counter({
    name: 'payouts_transitions_total',
    help: 'Payout status changes committed, by provider, environment and new status (completed, failed, rejected and cancelled are final).',
    labelNames: ['provider', 'environment', 'status'] as const,
    registers: [this.registry],
  });

  readonly payoutsFinished = new Counter({
    name: 'payouts_finished_total',
    help: 'Payouts that reached a final status, by provider, environment and status.',
    labelNames: ['provider', 'environment', 'status'] as const,
    registers: [this.registry],
  });

  readonly payoutTimeToFinal = new Histogram({
    name: 'payout_time_to_final_seconds',
    help: 'Seconds from a payout being stored to its final status, by provider, environment and status.',
    labelNames: ['provider', 'environment', 'status'] as const,
    buckets: SETTLEMENT_BUCKETS,
    registers: [this.registry],
  });

  readonly providerCallDuration = new Histogram({
    name: 'provider_call_duration_seconds',
    help: 'Calls to providers by provider, environment, operation and outcome (the HTTP status class, or the mapped error code when no answer came).',
    labelNames: ['provider', 'environment', 'operation', 'outcome'] as const,
    buckets: CALL_BUCKETS,
    registers: [this.registry],
  });

  readonly providerCallErrors = new Counter({
    name: 'provider_call_errors_total',
    help: 'Provider calls that failed, by provider, environment, operation and mapped error code (CIRCUIT_OPEN: refused without calling).',
    labelNames: ['provider', 'environment', 'operation', 'code'] as const,
    registers: [this.registry],
  });

  readonly providerCircuitState = new Gauge({
    name: 'provider_circuit_state',
    help: 'Circuit breaker per provider and environment: 0 closed, 1 half-open, 2 open.',
    labelNames: ['provider', 'environment'] as const,
    registers: [this.registry],
  });

  readonly providerTlsHandshakes = new Counter({
    name: 'provider_tls_handshakes_total',
    help: 'New TLS connections to providers (each a full handshake), by provider, environment and host family.',
    labelNames: ['provider', 'environment', 'family'] as const,
    registers: [this.registry],
  });

  readonly reconcilerBacklog = new Gauge({
    name: 'reconciler_backlog',
    help: 'Payouts whose status check is due now.',
    registers: [this.registry],
  });

  readonly reconcilerOldestDue = new Gauge({
    name: 'reconciler_oldest_due_seconds',
    help: 'How long the most overdue status check has been due (0 when none is).',
    registers: [this.registry],
  });

  readonly reconcilerChecks = new Counter({
    name: 'reconciler_checks_total',
    help: 'Status checks the reconciler made, by provider and outcome (changed, unchanged, error).',
    labelNames: ['provider', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly batchIntakeInProgress = new Gauge({
    name: 'batch_intake_in_progress',
    help: 'Batch requests being read and checked on this replica (at most BATCH_INTAKE_CONCURRENCY).',
    registers: [this.registry],
  });

  readonly outboxBacklog = new Gauge({
    name: 'outbox_backlog',
    help: 'Events waiting to be delivered to subscribers.',
    registers: [this.registry],
  });

  readonly outboxOldestPending = new Gauge({
    name: 'outbox_oldest_pending_seconds',
    help: 'Age of the oldest event waiting to be delivered (0 when none is).',
    registers: [this.registry],
  });

  readonly outboxDeliveryFailures = new Counter({
    name: 'outbox_delivery_failures_total',
    help: 'Event delivery attempts that failed, by reason (status class, timeout, refused destination, …).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly webhooks = new Counter({
    name: 'webhooks_received_total',
    help: 'Provider notifications, by provider, outcome (accepted, rejected) and reason (a stable code).',
    labelNames: ['provider', 'outcome', 'reason'] as const,
    registers: [this.registry],
  });

  readonly credentialExpiryDays = new Gauge({
    name: 'credential_expiry_days',
    help: 'Days until each credential in service expires (negative once expired), by provider, environment and kind.',
    labelNames: ['provider', 'environment', 'kind'] as const,
    registers: [this.registry],
  });

  readonly databasePool = new Gauge({
    name: 'database_pool_connections',
    help: 'Database pool connections by state: in_use, idle, waiting (requests queued for a connection).',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  private readonly gcObserver: PerformanceObserver;

  constructor() {
    // Process CPU and memory, heap, GC, handles and event-loop lag (nodejs_eventloop_lag_*).
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLING_MS });
    this.gcObserver = this.countEveryCollection();
  }

  /** Nothing else stops it: an app closed (tests make many) would leave its observer running. */
  onModuleDestroy(): void {
    this.gcObserver.disconnect();
  }

  /**
   * nodejs_gc_duration_seconds with every collection in it. Node hands a performance observer the
   * collections in batches, and prom-client's observer (15.x) records the first of each batch
   * only: under load, when several scavenges share a batch, the count and the time were too low.
   * Same name, label and buckets, so dashboards and alerts read it as before.
   */
  private countEveryCollection(): PerformanceObserver {
    this.registry.removeSingleMetric('nodejs_gc_duration_seconds');
    const collections = new Histogram({
      name: 'nodejs_gc_duration_seconds',
      help: 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
      labelNames: ['kind'] as const,
      buckets: GC_BUCKETS,
      registers: [this.registry],
    });
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) collections.observe({ kind: gcKindOf(entry) }, entry.duration / 1000);
    });
    observer.observe({ entryTypes: ['gc'] });
    return observer;
  }

  /** Registers a collector run before every scrape (gauges read from the database, pools, breakers). */
  onScrape(collector: ScrapeCollector): void {
    this.collectors.push(collector);
  }

  /** The exposition text. A collector that fails or is slow leaves its gauges as they were; the scrape still answers. */
  async render(): Promise<{ contentType: string; body: string }> {
    await Promise.all(
      this.collectors.map((collect) =>
        withDeadline(
          Promise.resolve().then(collect),
          COLLECT_TIMEOUT_MS,
          `collector took longer than ${COLLECT_TIMEOUT_MS} ms`,
        ).catch((error: unknown) =>
          this.logger.warn(
            { error: error instanceof Error ? error.message : String(error) },
            'metrics collector failed',
          ),
        ),
      ),
    );
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** A payout stored. */
  payoutCreated(payout: { provider: string; environment: string }): void {
    this.payoutsCreated.inc({ provider: payout.provider, environment: payout.environment });
  }

  /** A payout's status change, committed; a final one also observes the time since it was stored. */
  payoutMoved(
    payout: { provider: string; environment: string; status: string; createdAt: Date },
    { final }: { final: boolean },
  ): void {
    const labels = { provider: payout.provider, environment: payout.environment, status: payout.status };
    this.payoutsTransitions.inc(labels);
    if (!final) return;
    this.payoutsFinished.inc(labels);
    this.payoutTimeToFinal.observe(labels, Math.max(0, (Date.now() - payout.createdAt.getTime()) / 1000));
  }
}
