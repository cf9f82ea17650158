import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { Environment } from '../config/environment';
import { ENVIRONMENTS } from '../credentials/domain/credential';
import { TERMINAL } from '../payouts/domain/payout';
import { PayoutEntity } from '../payouts/persistence/payout.entity';
import { PayoutsService } from '../payouts/payouts.service';
import { ProviderRegistry } from '../providers/provider.registry';
import type { InboundWebhook, Provider, ProviderEnvironment, WebhookNotice } from '../providers/provider.port';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type WebhookOutcome = 'applied' | 'duplicate' | 'unknown_payout' | 'rejected' | 'failed';

/**
 * Inbound notifications: verified by the provider module (D24 control, ConnectPay token), stored
 * and deduplicated, then turned into a status fetch. The body is never trusted for the status.
 */
@Injectable()
export class WebhooksService {
  private readonly logger = new Logger('Webhooks');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly registry: ProviderRegistry,
    private readonly payouts: PayoutsService,
    private readonly environment: Environment,
  ) {}

  /** Returns null when no environment's credential verifies the notification. */
  async verify(provider: Provider, webhook: InboundWebhook, hint?: ProviderEnvironment): Promise<{ notice: WebhookNotice; environment: ProviderEnvironment } | null> {
    if (provider === 'connectpay' && !this.allowedSource(webhook.remoteAddress)) return null;
    const environments = hint ? [hint] : (ENVIRONMENTS[provider] as readonly ProviderEnvironment[]);
    for (const environment of environments) {
      const notice = await this.registry
        .get(provider, environment)
        .verifyWebhook(webhook)
        .catch(() => null); // no credential for that environment
      if (notice) return { notice, environment };
    }
    return null;
  }

  /** Finds the payout a verified notice is about (our id is the provider's external id). */
  async payoutFor(provider: Provider, notice: WebhookNotice): Promise<PayoutEntity | null> {
    const repository = this.dataSource.getRepository(PayoutEntity);
    if (notice.externalId && UUID.test(notice.externalId)) {
      const byId = await repository.findOneBy({ id: notice.externalId, provider });
      if (byId) return byId;
    }
    return notice.providerReference ? repository.findOneBy({ provider, providerReference: notice.providerReference }) : null;
  }

  /** D24 names the payout in the body; it tells which environment's keys to check. */
  async d24EnvironmentHint(rawBody: Buffer): Promise<ProviderEnvironment | undefined> {
    const externalId = new URLSearchParams(rawBody.toString('utf8')).get('external_id');
    if (!externalId || !UUID.test(externalId)) return undefined;
    return (await this.dataSource.getRepository(PayoutEntity).findOneBy({ id: externalId, provider: 'd24' }))?.environment;
  }

  /** Records the delivery; false when this exact delivery was seen before. */
  async record(provider: Provider, environment: ProviderEnvironment | null, deliveryId: string, payoutId: string | null, outcome: WebhookOutcome): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `INSERT INTO webhook_deliveries (provider, environment, delivery_id, payout_id, outcome) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (provider, delivery_id) DO NOTHING RETURNING id`,
      [provider, environment, deliveryId.slice(0, 300), payoutId, outcome],
    );
    return rows.length > 0;
  }

  async recordRejected(provider: Provider, rawBody: Buffer): Promise<void> {
    await this.record(provider, null, `rejected:${createHash('sha256').update(rawBody).update(String(Date.now())).digest('hex')}`, null, 'rejected');
  }

  /**
   * Processes a verified notice: fetch the payout's status from the provider and apply it. A
   * duplicate delivery is recorded once but still triggers a fetch while the payout is open, which
   * is harmless (the state machine is idempotent) and never misses a change.
   */
  async process(provider: Provider, environment: ProviderEnvironment, notice: WebhookNotice): Promise<WebhookOutcome> {
    const payout = await this.payoutFor(provider, notice);
    const deliveryId = `${environment}:${notice.deliveryId}`;
    if (!payout) {
      await this.record(provider, environment, deliveryId, null, 'unknown_payout');
      this.logger.warn({ provider, environment, externalId: notice.externalId, providerReference: notice.providerReference }, 'notification for a payout we do not know; recorded');
      return 'unknown_payout';
    }
    const fresh = await this.record(provider, environment, deliveryId, payout.id, 'applied');
    if (!fresh && TERMINAL.has(payout.status)) return 'duplicate';
    try {
      const result = await this.registry
        .get(provider, environment)
        .getPayout({ externalId: payout.id, providerReference: payout.providerReference ?? notice.providerReference });
      await this.payouts.applyProviderResult(payout.id, result, `webhook:${provider}`);
      return fresh ? 'applied' : 'duplicate';
    } catch (error) {
      this.logger.warn({ payoutId: payout.id, error: error instanceof Error ? error.message : String(error) }, 'could not fetch the status after a notification; the reconciler will');
      return 'failed';
    }
  }

  private allowedSource(address: string | undefined): boolean {
    const allowed = (this.environment.CONNECTPAY_WEBHOOK_ALLOWED_IPS ?? '').split(',').map((ip) => ip.trim()).filter(Boolean);
    if (allowed.length === 0) return true;
    const ip = (address ?? '').replace(/^::ffff:/, '');
    return allowed.includes(ip);
  }
}
