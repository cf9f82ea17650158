import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { Metrics } from '../observability/metrics';
import { CredentialRenewals } from './credential-renewal';
import { CredentialVault } from './credential-vault.service';

const HOURLY = 60 * 60 * 1000;
const DAY_MS = 86_400_000;
/** A century ahead: every credential in service that has an end date. */
const ALL_EXPIRING_DAYS = 36_500;

/**
 * Marks certificates expiring (≤ 30 days) and expired, at start and every hour, then starts the
 * renewal of those that entered their window (CredentialRenewals); serves
 * credential_expiry_days (days left of each credential in service) at every scrape.
 */
@Injectable()
export class CredentialExpiryJob implements OnApplicationBootstrap {
  private readonly logger = new Logger('CredentialExpiry');

  constructor(
    private readonly vault: CredentialVault,
    private readonly renewals: CredentialRenewals,
    metrics: Metrics,
  ) {
    metrics.onScrape(async () => {
      const inService = await this.vault.list({ expiringWithinDays: ALL_EXPIRING_DAYS });
      // The soonest per provider, environment and kind: two overlap while one replaces the other.
      const soonest = new Map<string, { labels: Record<'provider' | 'environment' | 'kind', string>; days: number }>();
      for (const credential of inService) {
        if (!credential.expiresAt) continue;
        const labels = { provider: credential.provider, environment: credential.environment, kind: credential.kind };
        const key = `${labels.provider}:${labels.environment}:${labels.kind}`;
        const days = (credential.expiresAt.getTime() - Date.now()) / DAY_MS;
        const known = soonest.get(key);
        if (!known || days < known.days) soonest.set(key, { labels, days });
      }
      metrics.credentialExpiryDays.reset();
      for (const { labels, days } of soonest.values())
        metrics.credentialExpiryDays.set(labels, Math.round(days * 100) / 100);
    });
  }

  onApplicationBootstrap(): void {
    void this.run();
  }

  @Interval('credential-expiry', HOURLY)
  async run(now = new Date()): Promise<void> {
    try {
      const changes = await this.vault.refreshExpiry(now);
      for (const change of changes) {
        this.logger.warn(
          {
            credentialId: change.credentialId,
            provider: change.provider,
            environment: change.environment,
            status: change.status,
          },
          'credential validity changed',
        );
      }
    } catch (error) {
      this.logger.error(
        { error: error instanceof Error ? error.message : String(error) },
        'could not refresh credential expiry',
      );
    }
    try {
      const started = await this.renewals.runDue();
      if (started > 0) this.logger.warn({ started }, 'credential renewals due: see credential.renewal_due');
    } catch (error) {
      this.logger.error(
        { error: error instanceof Error ? error.message : String(error) },
        'could not start credential renewals',
      );
    }
  }
}
