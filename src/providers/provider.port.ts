/**
 * The one port every provider implements. Domain types only: no HTTP, no provider JSON. A
 * provider folder maps between these and its own wire format.
 */
import type { ErrorCode } from '../common/errors/error-codes';
import type { Provider, ProviderEnvironment } from '../credentials/domain/credential';
import type { PreflightCheck, PreflightContext } from './doctor/preflight';

export type { Provider, ProviderEnvironment };

export interface Money {
  /** Decimal string with the currency's precision, e.g. "100.50". Never a float. */
  amount: string;
  /** ISO 4217. */
  currency: string;
}

/** A bank account in Latin America with the holder's document. */
export interface LatamBankBeneficiary {
  type: 'latam_bank_account';
  country: string;
  name: string;
  lastName?: string;
  documentId: string;
  documentType?: string;
  bankCode?: number;
  bankAccount?: string;
  bankBranch?: string;
  accountType?: string;
  email?: string;
  phone?: string;
  /** The holder's street address, city, postal code and birth date (YYYY-MM-DD): some countries' banks need them. */
  address?: string;
  city?: string;
  postalCode?: string;
  birthdate?: string;
}

/** IBAN (SEPA or SWIFT) with name and address. */
export interface IbanBeneficiary {
  type: 'iban';
  name: string;
  iban: string;
  bic?: string;
  bankName?: string;
  address?: { line1: string; city: string; postcode?: string; country: string };
}

/** A card, by token or reference. */
export interface CardBeneficiary {
  type: 'card';
  cardToken: string;
  name?: string;
}

export type Beneficiary = LatamBankBeneficiary | IbanBeneficiary | CardBeneficiary;

export interface PayoutInstruction {
  /** Our payout id: the provider's external id, so a retried create is recognised as the same payout. */
  externalId: string;
  amount: Money;
  beneficiary: Beneficiary;
  reference?: string;
  /** Where the provider sends status notifications, for providers told per request. */
  notificationUrl?: string;
  /** Debtor account for providers that pay from an account. */
  debtorAccountId?: string;
  /** Create it parked (providers with payouts.hold): nothing moves until it is released. */
  onHold?: boolean;
}

/** Provider statuses mapped into the domain's vocabulary. */
export type ProviderPayoutState =
  'pending' | 'processing' | 'completed' | 'rejected' | 'cancelled' | 'on_hold' | 'failed';

export interface ProviderPayout {
  /** The provider's id for the payout; absent when a lookup by our external id does not return it. */
  providerReference?: string;
  state: ProviderPayoutState;
  /** The provider's own status, for the history. */
  providerStatus: string;
  /** Why it was rejected, as a stable code (the payout's failure code), e.g. ACCOUNT_CLOSED. */
  rejectionCode?: string;
  /** What happened and what to do about it, in a sentence (the payout's failure reason). */
  rejectionReason?: string;
  /** The provider's own rejection code (a bank's 801, say), kept in the payout's history. */
  providerRejectionCode?: string;
  fees?: Money;
}

export interface ProviderAccount {
  id: string;
  name: string;
  iban?: string;
  currency: string;
  balance?: Money;
}

export interface ProviderTransaction {
  id: string;
  bookedAt: string;
  amount: Money;
  direction: 'credit' | 'debit';
  description: string;
  counterpartyIban?: string;
}

export interface Capabilities {
  payouts: { create: boolean; status: boolean; cancel: boolean; hold: boolean };
  accounts: { list: boolean; balance: boolean; transactions: boolean };
  webhooks: { verify: boolean };
}

/** What an inbound notification says once verified: which payout, never its status. */
/**
 * What a verified notification says, limited to what the provider's proof covers: a field the
 * signature (or mutual TLS, or the shared token) does not authenticate is left out, so it can
 * never choose which payout is fetched or what is stored.
 */
export interface WebhookNotice {
  externalId?: string;
  providerReference?: string;
  /** Identifies this delivery for deduplication, when the provider authenticates it; absent otherwise. */
  deliveryId?: string;
}

export interface InboundWebhook {
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer;
  remoteAddress?: string;
}

export type Capability =
  | 'payouts.create'
  | 'payouts.status'
  | 'payouts.cancel'
  | 'payouts.hold'
  | 'accounts.list'
  | 'accounts.balance'
  | 'accounts.transactions'
  | 'webhooks.verify';

/** DI token and contract. One instance per provider + environment, from the registry. */
export abstract class PayoutProvider {
  abstract readonly provider: Provider;
  abstract readonly environment: ProviderEnvironment;
  abstract readonly capabilities: Capabilities;

  abstract createPayout(instruction: PayoutInstruction): Promise<ProviderPayout>;
  /**
   * Resolves when a createPayout could be sent now as far as this service can tell without calling
   * the provider: the hosts it uses are configured and every credential it uses is in service.
   * Otherwise rejects with the ProviderError the create would be refused with before sending
   * (PROVIDER_NOT_CONFIGURED, CREDENTIAL_MISSING / CREDENTIAL_EXPIRED / CREDENTIAL_REVOKED,
   * OAUTH_AUTHORIZATION_REQUIRED). Asked before a payout is stored, on every create: it reads the
   * credential caches (CredentialedHttp.assertReady), never the database while all is in service.
   */
  abstract assertReadyToCreate(): Promise<void>;
  abstract getPayout(reference: { externalId: string; providerReference?: string }): Promise<ProviderPayout>;

  cancelPayout(_reference: { externalId: string; providerReference?: string }): Promise<ProviderPayout> {
    return this.unsupported('payouts.cancel');
  }
  holdPayout(_reference: { externalId: string; providerReference?: string }): Promise<ProviderPayout> {
    return this.unsupported('payouts.hold');
  }
  releasePayout(_reference: { externalId: string; providerReference?: string }): Promise<ProviderPayout> {
    return this.unsupported('payouts.hold');
  }
  listAccounts(): Promise<ProviderAccount[]> {
    return this.unsupported('accounts.list');
  }
  getBalance(_accountId: string): Promise<Money> {
    return this.unsupported('accounts.balance');
  }
  listTransactions(_accountId: string, _range: { from?: string; to?: string }): Promise<ProviderTransaction[]> {
    return this.unsupported('accounts.transactions');
  }
  verifyWebhook(_webhook: InboundWebhook): Promise<WebhookNotice | null> {
    return this.unsupported('webhooks.verify');
  }
  /**
   * The provider's own read-only checks for the doctor: does it accept our authentication (and
   * what it names when it does not), and is its clock ours. Never changes anything at the
   * provider. The checks every provider shares (hosts, DNS, TLS, credentials) are the doctor's.
   */
  preflight(_context: PreflightContext): Promise<PreflightCheck[]> {
    return Promise.resolve([]);
  }

  protected unsupported<T>(capability: Capability): Promise<T> {
    return Promise.reject(
      new ProviderError('CAPABILITY_NOT_SUPPORTED', `${this.provider} does not support ${capability}.`, {
        capability,
        retryable: false,
      }),
    );
  }
}

/**
 * Every failure of a provider call, in domain terms. `outcomeUnknown` marks a write whose
 * result was lost (timeout, reset, dropped response): the payout must be reconciled, never
 * blindly re-sent unless the provider deduplicates it.
 * The codes are a subset of the error catalogue: a name missing from it drops out of this union,
 * and HTTP_STATUS below then fails to compile.
 */
export type ProviderErrorCode = Extract<
  ErrorCode,
  | 'CAPABILITY_NOT_SUPPORTED'
  | 'PROVIDER_NOT_CONFIGURED'
  | 'CREDENTIAL_MISSING'
  | 'CREDENTIAL_EXPIRED'
  | 'CREDENTIAL_REVOKED'
  | 'PROVIDER_AUTH_FAILED'
  | 'PROVIDER_UNAVAILABLE'
  | 'PROVIDER_TIMEOUT'
  | 'CIRCUIT_OPEN'
  | 'PAYOUT_ALREADY_EXISTS'
  | 'PAYOUT_NOT_FOUND'
  | 'INSUFFICIENT_FUNDS'
  | 'INVALID_TRANSITION'
  | 'PAYOUT_REJECTED'
  | 'OAUTH_AUTHORIZATION_REQUIRED'
  | 'PROVIDER_PROTOCOL_ERROR'
>;

/** How each code reaches an API caller: their own fault (4xx) or the provider's (502/503/504). */
const HTTP_STATUS: Record<ProviderErrorCode, number> = {
  CAPABILITY_NOT_SUPPORTED: 409,
  PROVIDER_NOT_CONFIGURED: 409,
  CREDENTIAL_MISSING: 409,
  CREDENTIAL_EXPIRED: 409,
  CREDENTIAL_REVOKED: 409,
  OAUTH_AUTHORIZATION_REQUIRED: 409,
  PAYOUT_ALREADY_EXISTS: 409,
  INVALID_TRANSITION: 409,
  PAYOUT_NOT_FOUND: 404,
  INSUFFICIENT_FUNDS: 422,
  PAYOUT_REJECTED: 422,
  PROVIDER_AUTH_FAILED: 502,
  PROVIDER_PROTOCOL_ERROR: 502,
  PROVIDER_UNAVAILABLE: 503,
  CIRCUIT_OPEN: 503,
  PROVIDER_TIMEOUT: 504,
};

export class ProviderError extends Error {
  /** Read by the global error filter, which renders `code` and `message` as they are. */
  readonly httpStatus: number;
  readonly retryable: boolean;
  readonly outcomeUnknown: boolean;
  readonly providerCode?: string;
  readonly capability?: Capability;
  /** A finer stable name for a refusal (see ProviderErrorRule.reason). */
  readonly reason?: string;

  constructor(
    readonly code: ProviderErrorCode,
    message: string,
    options: {
      retryable?: boolean;
      outcomeUnknown?: boolean;
      providerCode?: string | number;
      capability?: Capability;
      reason?: string;
    } = {},
  ) {
    super(message);
    this.name = 'ProviderError';
    this.httpStatus = HTTP_STATUS[code];
    this.retryable = options.retryable ?? false;
    this.outcomeUnknown = options.outcomeUnknown ?? false;
    this.providerCode = options.providerCode === undefined ? undefined : String(options.providerCode);
    this.capability = options.capability;
    this.reason = options.reason;
  }
}
