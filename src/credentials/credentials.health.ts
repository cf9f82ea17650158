import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { CredentialVault } from './credential-vault.service';
import { DEGRADED_WITHIN_DAYS } from './domain/credential';

/**
 * Degraded, not down: a certificate that expires within 7 days still works today, but somebody
 * must act. Readiness stays 200 and names the credentials.
 */
@Injectable()
export class CredentialsHealthIndicator {
  constructor(
    private readonly vault: CredentialVault,
    private readonly indicators: HealthIndicatorService,
  ) {}

  async check(key: string) {
    const indicator = this.indicators.check(key);
    let expiring;
    try {
      expiring = await this.vault.list({ expiringWithinDays: DEGRADED_WITHIN_DAYS });
    } catch {
      return indicator.down({ message: 'could not read the credentials table' });
    }
    if (expiring.length === 0) return indicator.up();
    return indicator.up({
      degraded: true,
      message: `${expiring.length} credential(s) in service expire within ${DEGRADED_WITHIN_DAYS} days; rotate them.`,
      expiringSoon: expiring.map((credential) => ({
        id: credential.id,
        name: credential.label ?? `${credential.provider}/${credential.environment}/${credential.kind}`,
        provider: credential.provider,
        environment: credential.environment,
        notAfter: credential.certificate?.notAfter.toISOString() ?? null,
      })),
    });
  }
}
