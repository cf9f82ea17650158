import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { CredentialVault } from './credential-vault.service';

const HOURLY = 60 * 60 * 1000;

/** Marks certificates expiring (≤ 30 days) and expired, at start and every hour. */
@Injectable()
export class CredentialExpiryJob implements OnApplicationBootstrap {
  private readonly logger = new Logger('CredentialExpiry');

  constructor(private readonly vault: CredentialVault) {}

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
  }
}
