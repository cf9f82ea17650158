import { Injectable, Logger } from '@nestjs/common';
import type { Credential, CredentialKind, Provider } from './domain/credential';
import { CredentialVault, type RenewalPlan } from './credential-vault.service';

export type { RenewalPlan };

/** A provider's renewal of one credential kind, registered by its integration module. */
export interface CredentialRenewer {
  /** `successorId` is the id the successor will have, so the action can name its import route. */
  prepare(current: Credential, successorId: string): Promise<RenewalPlan>;
}

/**
 * The credential autopilot: for every credential that has entered its expiry window (status
 * `expiring`, set by the hourly expiry job), once, the registered renewer's plan is recorded in the
 * credential's trail and announced as `credential.renewal_due` (with the successor's CSR where one
 * was prepared). Once per credential across replicas: the vault records it under the credential's
 * row lock and skips a credential whose trail already has it.
 */
@Injectable()
export class CredentialRenewals {
  private readonly logger = new Logger('CredentialRenewal');
  private readonly renewers = new Map<string, CredentialRenewer>();

  constructor(private readonly vault: CredentialVault) {}

  register(provider: Provider, kind: CredentialKind, renewer: CredentialRenewer): void {
    this.renewers.set(`${provider}:${kind}`, renewer);
  }

  /**
   * Prepares and announces the renewal of every expiring credential that has a renewer and none
   * yet; an expired one too (in service still, and the job may not have run while it was expiring).
   */
  async runDue(): Promise<number> {
    let started = 0;
    const due = [...(await this.vault.list({ status: 'expiring' })), ...(await this.vault.list({ status: 'expired' }))];
    for (const credential of due) {
      const renewer = this.renewers.get(`${credential.provider}:${credential.kind}`);
      if (!renewer || (await this.vault.renewalRecorded(credential.id))) continue;
      try {
        if (
          await this.vault.recordRenewal(credential.id, (current, successorId) => renewer.prepare(current, successorId))
        )
          started++;
      } catch (error) {
        // One credential's failure (a CSR that cannot be built) must not stop the others'.
        this.logger.error(
          { credentialId: credential.id, error: error instanceof Error ? error.message : String(error) },
          'could not prepare a credential renewal',
        );
      }
    }
    return started;
  }
}
