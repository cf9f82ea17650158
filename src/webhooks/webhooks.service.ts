import { Injectable, Logger } from '@nestjs/common';
import { LogThrottle } from '../common/logging/log-throttle';
import { Metrics } from '../observability/metrics';
import { Environment, settingValue } from '../config/environment';
import { ENVIRONMENTS } from '../credentials/domain/credential';
import { descriptorOf } from '../providers/provider-catalogue';
import { statusesThatMayChange } from '../payouts/domain/payout';
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
 * follow-up check at its end, or relies on one already due within an interval from now, so a
 * genuine change, a documented reversal included, is never missed).
 */
@Injectable()
export class WebhooksService {
  private readonly logger = new Logger('Webhooks');
  private readonly rejections = new LogThrottle(REJECTION_LOG_INTERVAL_MS);

  constructor(
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly registry: ProviderRegistry,
    private readonly payouts: PayoutsService,
    private readonly reconciler: PayoutReconciler,
    private readonly environment: Environment,
    private readonly metrics: Metrics,
  ) {}

  /**
   * The environments whose credential verifies the notification (every one is tried: the payout
   * it names must be in one of them, and a provider may use one signing key in several), or null
   * when none does. Credentials come from the clients' caches: no database round trip, even for a
   * forged notification or an environment with no credential.
   */
  async verify(
    provider: Provider,
    webhook: InboundWebhook,
  ): Promise<{ notice: WebhookNotice; environments: ProviderEnvironment[] } | null> {
    if (!this.allowedSource(provider, webhook.remoteAddress)) {
      this.recordRejection(provider, 'source_not_allowed', webhook.remoteAddress);
      return null;
    }
    let notice: WebhookNotice | null = null;
    const environments: ProviderEnvironment[] = [];
    for (const environment of ENVIRONMENTS[provider] as readonly ProviderEnvironment[]) {
      const verified = await this.registry
        .get(provider, environment)
        .verifyWebhook(webhook)
        .catch(() => null); // no credential for that environment
      if (!verified) continue;
      notice ??= verified;
      environments.push(environment);
    }
    if (notice) return { notice, environments };
    this.recordRejection(provider, 'unverified', webhook.remoteAddress);
    return null;
  }

  /**
   * Processes a verified notice, found by what it says and by the environments that verified it:
   * at most one status fetch per payout per interval, then the state machine.
   */
  async process(
    provider: Provider,
    environments: readonly ProviderEnvironment[],
    notice: WebhookNotice,
  ): Promise<WebhookOutcome> {
    const outcome = await this.processVerified(provider, environments, notice);
    this.metrics.webhooks.inc({ provider, outcome: 'accepted', reason: outcome });
    return outcome;
  }

  private async processVerified(
    provider: Provider,
    environments: readonly ProviderEnvironment[],
    notice: WebhookNotice,
  ): Promise<WebhookOutcome> {
    const fetch = await this.deliveries.recordAndClaimFetch(
      {
        provider,
        environments,
        // Not a uuid: cannot be one of our ids (and would fail the query).
        payoutId: notice.externalId && UUID.test(notice.externalId) ? notice.externalId : undefined,
        providerReference: notice.providerReference,
        openStatuses: statusesThatMayChange(provider),
      },
      { deliveryId: notice.deliveryId, outcome: 'applied' },
      { intervalMs: this.environment.WEBHOOK_FETCH_INTERVAL_MS },
    );
    if (fetch.outcome === 'unknown_payout') {
      // Nothing stored: a verified notification can still be replayed at will.
      this.logger.warn(
        { provider, environments, externalId: notice.externalId, providerReference: notice.providerReference },
        'notification for a payout we do not know',
      );
      return 'unknown_payout';
    }
    // The follow-up check is due by the end of the interval (webhook_fetch_at, at the latest now,
    // plus the interval; the clocks' offset cancels out): the reconciler runs it then.
    if (fetch.outcome === 'deferred')
      this.reconciler.checkDueAt(Date.now() + this.environment.WEBHOOK_FETCH_INTERVAL_MS);
    if (fetch.outcome !== 'claimed') return fetch.outcome;
    const { payout } = fetch;
    try {
      const result = await this.registry
        .get(provider, payout.environment)
        .getPayout({ externalId: payout.id, providerReference: payout.providerReference ?? notice.providerReference });
      await this.payouts.applyProviderResult(payout, result, { source: `webhook:${provider}` });
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
    const due = this.rejections.occurred(`${provider}:${reason}`);
    if (due) this.logger.warn({ provider, reason, source, ...due }, 'refused provider notifications');
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
