import { Injectable, OnModuleInit } from '@nestjs/common';
import { CredentialRenewals, type RenewalPlan } from '../../credentials/credential-renewal';
import type { Credential } from '../../credentials/domain/credential';

/**
 * ConnectPay's credentials that end cannot be prepared here, only announced in time: the refresh
 * token (30 days; a new authorization needs a person in Online Banking) and the mTLS chain (a CA
 * issues it, and DevApp must know it). `credential.renewal_due` says what to do, once per
 * credential, when it enters its window (the refresh token's last 7 days, the chain's last 30).
 */
@Injectable()
export class ConnectPayRenewal implements OnModuleInit {
  constructor(private readonly renewals: CredentialRenewals) {}

  onModuleInit(): void {
    this.renewals.register('connectpay', 'oauth_refresh_token', {
      prepare: (current) => Promise.resolve(reauthorize(current)),
    });
    this.renewals.register('connectpay', 'mtls_client_certificate', {
      prepare: (current) => Promise.resolve(newChain(current)),
    });
  }
}

const by = (current: Credential) => current.expiresAt?.toISOString() ?? 'it ends';

function reauthorize(current: Credential): RenewalPlan {
  return {
    action: `Before ${by(current)}: generate an auth code in ConnectPay Online Banking (Settings → API) and submit it to POST /v1/credentials/connectpay/oauth/authorize with environment ${current.environment}; payouts stop needing a person again for 30 days.`,
  };
}

function newChain(current: Credential): RenewalPlan {
  return {
    action: `Before ${by(current)}: have your CA issue the next certificate (leaf, intermediate and root; never self-signed or Let's Encrypt), check it with POST /v1/credentials/connectpay/chain-check, store it with POST /v1/credentials/connectpay/certificate, and register it in ConnectPay DevApp.`,
    facts: current.certificate ? { subject: current.certificate.subject } : {},
  };
}
