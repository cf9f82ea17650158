import { Injectable, Logger } from '@nestjs/common';
import { Metrics } from '../observability/metrics';
import { Environment, settingValue } from '../config/environment';
import { ENVIRONMENTS } from '../credentials/domain/credential';
import { descriptorOf } from '../providers/provider-catalogue';
import { mayStillChange, Payout } from '../payouts/domain/payout';
import { PayoutsRepository } from '../payouts/persistence/payouts.repository';
import { PayoutReconciler } from '../payouts/payout-reconciler';
import { PayoutsService } from '../payouts/payouts.service';
import { ProviderRegistry } from '../providers/provider.registry';
import type { InboundWebhook, Provider, ProviderEnvironment, WebhookNotice } from '../providers/provider.port';
import { WebhookDeliveriesRepository } from './persistence/webhook-deliveries.repository';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const WEBHOOK_OUTCOMES = ['applied', 'duplicate', 'deferred', 'final', 'unknown_payout', 'failed'] as const;
export type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number];

/** Why an inbound notification was refused (counted in the logs, never stored). */
export type RejectionReason = 'unverified' | 'source_not_allowed' | 'malformed';

/** A summary line per provider and reason at most this often, however fast rejections come. */
const REJECTION_LOG_INTERVAL_MS = 10_000;

/**
 * Inbound notifications: verified by the provider's client (a control string, a secret token,
 * mutual TLS: whatever its descriptor's transport proves), then turned into a status fetch; what a notification says about the status is
 * never trusted. Floods and replays are cheap: a refused request writes nothing, a notification
 * about a payout that can no longer change costs nothing, and each payout gets at most one status
 * fetch per WEBHOOK_FETCH_INTERVAL_MS (a notification inside that interval schedules a single
 * follow-up check at its end, so a genuine change, a documented reversal included, is never missed).
 */
@Injectable()
export class WebhooksService {
  private readonly logger = new Logger('Webhooks');
  private readonly rejections = new Map<string, { count: number; total: number; loggedAt: number }>();

  constructor(
    private readonly deliveries: WebhookDeliveriesRepository,
    // The payouts module's own repository: notifications read payouts and claim their fetch slots through it.
    private readonly payoutRows: PayoutsRepository,
    private readonly registry: ProviderRegistry,
    private readonly payouts: PayoutsService,
    private readonly reconciler: PayoutReconciler,
    private readonly environment: Environment,
    private readonly metrics: Metrics,
  ) {}

  /** Returns null when no environment's credential verifies the notification. */
  async verify(
    provider: Provider,
    webhook: InboundWebhook,
    hint?: ProviderEnvironment,
  ): Promise<{ notice: WebhookNotice; environment: ProviderEnvironment } | null> {
    if (!this.allowedSource(provider, webhook.remoteAddress)) {
      this.recordRejection(provider, 'source_not_allowed', webhook.remoteAddress);
      return null;
    }
    const environments = hint ? [hint] : (ENVIRONMENTS[provider] as readonly ProviderEnvironment[]);
    for (const environment of environments) {
      const notice = await this.registry
        .get(provider, environment)
        .verifyWebhook(webhook)
        .catch(() => null); // no credential for that environment
      if (notice) return { notice, environment };
    }
    this.recordRejection(provider, 'unverified', webhook.remoteAddress);
    return null;
  }

  /** Finds the payout a verified notice is about (our id is the provider's external id). */
  async payoutFor(provider: Provider, notice: WebhookNotice): Promise<Payout | null> {
    // Not a uuid: cannot be one of our ids (and would fail the query).
    const externalId = notice.externalId && UUID.test(notice.externalId) ? notice.externalId : undefined;
    return this.payoutRows.findForNotice(provider, externalId, notice.providerReference);
  }

  /**
   * One of our payouts, when a provider names it before its proof is checked: its environment
   * tells which credential to verify with (a hint only), and process() uses the row if the
   * verified notice names the same payout, instead of reading it again.
   */
  async payoutNamed(provider: Provider, externalId: string): Promise<Payout | null> {
    if (!UUID.test(externalId)) return null;
    return this.payoutRows.findForNotice(provider, externalId, undefined);
  }

  /**
   * Processes a verified notice: at most one status fetch per payout per interval, then the state
   * machine. `named` is the payout read for the verification hint (see payoutNamed), if any.
   */
  async process(
    provider: Provider,
    environment: ProviderEnvironment,
    notice: WebhookNotice,
    named?: Payout | null,
  ): Promise<WebhookOutcome> {
    const outcome = await this.processVerified(provider, environment, notice, named);
    this.metrics.webhooks.inc({ provider, outcome: 'accepted', reason: outcome });
    return outcome;
  }

  private async processVerified(
    provider: Provider,
    environment: ProviderEnvironment,
    notice: WebhookNotice,
    named?: Payout | null,
  ): Promise<WebhookOutcome> {
    const payout =
      named && named.id === notice.externalId && named.provider === provider
        ? named
        : await this.payoutFor(provider, notice);
    if (!payout) {
      // Nothing stored: a verified notification can still be replayed at will.
      this.logger.warn(
        { provider, environment, externalId: notice.externalId, providerReference: notice.providerReference },
        'notification for a payout we do not know',
      );
      return 'unknown_payout';
    }
    if (!mayStillChange(payout.provider, payout.status)) return 'final';
    const slot = await this.deliveries.recordAndClaimFetch(
      {
        provider,
        environment,
        // Without an authenticated delivery id, the fetch itself is the delivery worth recording.
        deliveryId: (notice.deliveryId !== undefined
          ? `${environment}:${notice.deliveryId}`
          : `${environment}:fetch:${payout.id}:${Date.now()}`
        ).slice(0, 300),
        payoutId: payout.id,
        outcome: 'applied',
      },
      {
        intervalMs: this.environment.WEBHOOK_FETCH_INTERVAL_MS,
        dedupe: notice.deliveryId !== undefined ? 'by-delivery-id' : 'none',
      },
    );
    // The follow-up check is due by the end of the interval (webhook_fetch_at, at the latest now,
    // plus the interval; the clocks' offset cancels out): the reconciler runs it then.
    if (slot === 'deferred') this.reconciler.checkDueAt(Date.now() + this.environment.WEBHOOK_FETCH_INTERVAL_MS);
    if (slot !== 'claimed') return slot;
    try {
      const result = await this.registry
        .get(provider, environment)
        .getPayout({ externalId: payout.id, providerReference: payout.providerReference ?? notice.providerReference });
      await this.payouts.applyProviderResult(payout, result, `webhook:${provider}`);
      return 'applied';
    } catch (error) {
      this.logger.warn(
        { payoutId: payout.id, error: error instanceof Error ? error.message : String(error) },
        'could not fetch the status after a notification; the reconciler will',
      );
      return 'failed';
    }
  }

  /**
   * Counts a refused notification (webhooks_received_total{outcome="rejected"}). Nothing is
   * written (a flood must not grow a table) and the log gets one summary line per provider and
   * reason per interval. A provider's own callback listener (mTLS) reports here too.
   */
  recordRejection(provider: Provider, reason: RejectionReason, source: string | undefined): void {
    this.metrics.webhooks.inc({ provider, outcome: 'rejected', reason });
    const key = `${provider}:${reason}`;
    const now = Date.now();
    const entry = this.rejections.get(key) ?? { count: 0, total: 0, loggedAt: 0 };
    entry.count += 1;
    entry.total += 1;
    this.rejections.set(key, entry);
    if (now - entry.loggedAt < REJECTION_LOG_INTERVAL_MS) return;
    this.logger.warn(
      { provider, reason, source, sinceLastLine: entry.count, total: entry.total },
      'refused provider notifications',
    );
    entry.count = 0;
    entry.loggedAt = now;
  }

  /** The provider's source allow-list (the variable its descriptor names); none configured allows any. */
  private allowedSource(provider: Provider, address: string | undefined): boolean {
    const { webhook } = descriptorOf(provider);
    const variable = webhook.kind === 'route' ? webhook.allowedSourcesVariable : undefined;
    if (!variable) return true;
    const allowed = (settingValue(this.environment, variable) ?? '')
      .split(',')
      .map((ip) => ip.trim())
      .filter(Boolean);
    if (allowed.length === 0) return true;
    const ip = (address ?? '').replace(/^::ffff:/, '');
    return allowed.includes(ip);
  }
}
