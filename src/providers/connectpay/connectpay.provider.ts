import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { ConnectPayEnvironment } from './connectpay.descriptor';
import type { CredentialedHttp, OutboundResponse } from '../http/credentialed-http';
import type { HostFamily } from '../provider-endpoints';
import {
  Capabilities,
  IbanBeneficiary,
  InboundWebhook,
  Money,
  PayoutInstruction,
  PayoutProvider,
  ProviderAccount,
  ProviderError,
  ProviderPayout,
  ProviderPayoutState,
  ProviderTransaction,
  WebhookNotice,
} from '../provider.port';
import { assertHostFamily, CONNECTPAY_ENDPOINTS, ConnectPayEndpoint, endpointPath } from './connectpay.endpoints';
import type { ConnectPayAccessTokens } from './connectpay.access-tokens';
import { merchantSignature } from './connectpay.signature';

/** ISO 20022 payment statuses in the domain's words. */
const STATES: Record<string, ProviderPayoutState> = {
  RCVD: 'pending',
  ACTC: 'processing',
  ACSP: 'processing',
  ACSC: 'completed',
  ACCC: 'completed',
  PDNG: 'on_hold',
  RJCT: 'rejected',
  CANC: 'cancelled',
};
const RAIL_PREFERENCE = ['INTERNAL', 'SEPA_SCT_INST', 'SEPA_SCT', 'SWIFT'];

export interface ConnectPaySettings {
  webhookTokenHeader: string;
  xSignatureSeparator: string;
}

interface CallOptions {
  params?: Record<string, string>;
  query?: URLSearchParams;
  body?: unknown;
  /** Only for proving the guard: a caller may not choose the other host family. */
  via?: HostFamily;
}

/** What the client can do; the descriptor declares the same object. */
export const CONNECTPAY_CAPABILITIES: Capabilities = {
  payouts: { create: true, status: true, cancel: false, hold: false },
  accounts: { list: true, balance: true, transactions: true },
  webhooks: { verify: true },
};

/**
 * ConnectPay: person-data APIs on the mTLS host with OAuth Bearer tokens, Merchant API v2 on
 * the one-way host with Basic auth and X-Signature, an X-Request-ID on every call.
 */
export class ConnectPayProvider extends PayoutProvider {
  readonly provider = 'connectpay' as const;
  readonly capabilities: Capabilities = CONNECTPAY_CAPABILITIES;

  constructor(
    readonly environment: ConnectPayEnvironment,
    private readonly http: CredentialedHttp,
    private readonly tokens: ConnectPayAccessTokens,
    private readonly settings: ConnectPaySettings,
  ) {
    super();
  }

  /** A Bearer call on the mTLS host; a 401 drops the cached token and tries once more. */
  async call(endpoint: ConnectPayEndpoint, options: CallOptions = {}, retried = false): Promise<OutboundResponse> {
    const declared = CONNECTPAY_ENDPOINTS[endpoint];
    assertHostFamily(endpoint, options.via ?? declared.family);
    const accessToken = await this.tokens.accessToken(this.environment);
    const response = await this.http.request({
      provider: 'connectpay',
      environment: this.environment,
      family: declared.family,
      operation: endpoint,
      method: declared.method,
      path: endpointPath(endpoint, options.params, options.query),
      idempotent: declared.idempotent,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      headers: {
        Authorization: `Bearer ${accessToken}`,
        'X-Request-ID': randomUUID(),
        ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
    });
    if (response.status === 401 && !retried) {
      this.tokens.forget(this.environment);
      return this.call(endpoint, options, true);
    }
    return response;
  }

  async createPayout(instruction: PayoutInstruction): Promise<ProviderPayout> {
    const beneficiary = instruction.beneficiary as IbanBeneficiary;
    if (beneficiary.type !== 'iban') throw new ProviderError('PAYOUT_REJECTED', 'ConnectPay pays out to IBANs (beneficiary.type iban).');
    const debtor = await this.debtorAccount(instruction.debtorAccountId);
    const amount = { amount: instruction.amount.amount, currency: instruction.amount.currency };

    const railsResponse = await this.call('paymentRails', {
      body: { debtorAccount: { iban: debtor.iban }, creditorAccount: { iban: beneficiary.iban }, instructedAmount: amount },
    });
    this.raise(railsResponse);
    const available = railsResponse.json<{ paymentRails: string[] }>().paymentRails;
    const rail = RAIL_PREFERENCE.find((candidate) => available.includes(candidate));
    if (!rail) throw new ProviderError('PAYOUT_REJECTED', 'ConnectPay offers no payment rail for this payment.');

    const initiated = await this.call('initiatePayment', {
      body: {
        paymentRail: rail,
        debtorAccount: { iban: debtor.iban },
        creditorAccount: { iban: beneficiary.iban, ...(beneficiary.bic ? { bic: beneficiary.bic } : {}), ...(beneficiary.bankName ? { bankName: beneficiary.bankName } : {}) },
        creditorName: beneficiary.name,
        ...(beneficiary.address
          ? { creditorAddress: { addressLine1: beneficiary.address.line1, city: beneficiary.address.city, postcode: beneficiary.address.postcode, countryCode: beneficiary.address.country } }
          : {}),
        instructedAmount: amount,
        remittanceInformationUnstructured: instruction.reference ?? instruction.externalId,
        externalReference: instruction.externalId,
      },
    });
    let paymentOrderNo: string;
    let fees: Money | undefined;
    if (initiated.status === 409) {
      // Initiated before (our externalReference): continue with that payment, never a second one.
      paymentOrderNo = initiated.json<{ paymentOrderNo: string }>().paymentOrderNo;
    } else {
      this.raise(initiated);
      const body = initiated.json<{ paymentOrderNo: string; transactionFees?: Money }>();
      paymentOrderNo = body.paymentOrderNo;
      fees = body.transactionFees;
    }
    const authorised = await this.call('authorisePayment', { params: { paymentOrderNo } });
    if (authorised.status !== 409) this.raise(authorised);
    const payout = await this.getPayout({ externalId: instruction.externalId, providerReference: paymentOrderNo });
    return fees ? { ...payout, fees } : payout;
  }

  async getPayout(reference: { externalId: string; providerReference?: string }): Promise<ProviderPayout> {
    if (!reference.providerReference) {
      throw new ProviderError('PAYOUT_NOT_FOUND', 'ConnectPay looks payments up by paymentOrderNo, which is not known for this payout.');
    }
    const response = await this.call('paymentStatus', { params: { paymentOrderNo: reference.providerReference } });
    this.raise(response);
    const { transactionStatus } = response.json<{ transactionStatus: string }>();
    return { providerReference: reference.providerReference, state: STATES[transactionStatus] ?? 'processing', providerStatus: transactionStatus };
  }

  override async listAccounts(): Promise<ProviderAccount[]> {
    const response = await this.call('accounts', { query: new URLSearchParams({ withBalance: 'true' }) });
    this.raise(response);
    return response
      .json<{ accounts: Array<{ accountId: string; iban: string; name: string; currency: string; balances?: Array<{ amount: string; currency: string }> }> }>()
      .accounts.map((account) => ({
        id: account.accountId,
        name: account.name,
        iban: account.iban,
        currency: account.currency,
        ...(account.balances?.[0] ? { balance: { amount: account.balances[0].amount, currency: account.balances[0].currency } } : {}),
      }));
  }

  override async getBalance(accountId: string): Promise<Money> {
    const account = (await this.listAccounts()).find((candidate) => candidate.id === accountId);
    if (!account?.balance) throw new ProviderError('PAYOUT_NOT_FOUND', `ConnectPay has no account ${accountId}.`);
    return account.balance;
  }

  override async listTransactions(accountId: string, range: { from?: string; to?: string }): Promise<ProviderTransaction[]> {
    const query = new URLSearchParams({ sortOrder: 'DESC' });
    if (range.from) query.set('dateFrom', range.from);
    if (range.to) query.set('dateTo', range.to);
    const response = await this.call('transactions', { params: { accountId }, query });
    this.raise(response);
    return response
      .json<{ transactions: Array<{ transactionId: string; bookingDate: string; amount: string; currency: string; creditDebitIndicator: string; remittanceInformation: string; counterpartyIban?: string }> }>()
      .transactions.map((t) => ({
        id: t.transactionId,
        bookedAt: t.bookingDate,
        amount: { amount: t.amount, currency: t.currency },
        direction: t.creditDebitIndicator === 'CRDT' ? 'credit' : 'debit',
        description: t.remittanceInformation,
        ...(t.counterpartyIban ? { counterpartyIban: t.counterpartyIban } : {}),
      }));
  }

  /** Webhooks carry no signature: the Secret Token header (compared in constant time) is the proof. */
  override async verifyWebhook(webhook: InboundWebhook): Promise<WebhookNotice | null> {
    const offered = webhook.headers[this.settings.webhookTokenHeader.toLowerCase()];
    if (typeof offered !== 'string') return null;
    const stored = await this.http.material('connectpay', this.environment, 'webhook_secret').catch(() => null);
    const expected = stored?.secret.secretToken;
    if (!expected || offered.length !== expected.length || !timingSafeEqual(Buffer.from(offered), Buffer.from(expected))) return null;
    let body: { paymentOrderNo?: string; externalReference?: string; transactionStatus?: string };
    try {
      body = JSON.parse(webhook.rawBody.toString('utf8')) as typeof body;
    } catch {
      return null;
    }
    const timestamp = webhook.headers['x-connectpay-timestamp'];
    return {
      providerReference: body.paymentOrderNo,
      externalId: body.externalReference,
      deliveryId: `${body.paymentOrderNo ?? ''}:${body.transactionStatus ?? ''}:${typeof timestamp === 'string' ? timestamp : ''}`,
    };
  }

  /** Merchant API v2 on the one-way host: Basic auth plus X-Signature with the merchant key. */
  async createMerchantPayment(amount: Money, reference: string): Promise<{ paymentId: string; status: string }> {
    const endpoint = CONNECTPAY_ENDPOINTS.merchantCreatePayment;
    const [{ secret: client }, { secret: signer }] = await Promise.all([
      this.http.material('connectpay', this.environment, 'api_client'),
      this.http.material('connectpay', this.environment, 'merchant_signing_key'),
    ]);
    const body = JSON.stringify({ amount, reference });
    const url = this.http.url('connectpay', this.environment, endpoint.family, endpoint.path);
    const response = await this.http.request({
      provider: 'connectpay',
      environment: this.environment,
      family: endpoint.family,
      operation: 'merchantCreatePayment',
      method: endpoint.method,
      path: endpoint.path,
      idempotent: endpoint.idempotent,
      body,
      headers: {
        Authorization: 'Basic ' + Buffer.from(`${client.clientKey}:${client.clientSecret}`).toString('base64'),
        'Content-Type': 'application/json',
        'X-Request-ID': randomUUID(),
        'X-Signature': merchantSignature(signer.privateKeyPem as string, endpoint.method, url, body, this.settings.xSignatureSeparator),
      },
    });
    this.raise(response);
    return response.json();
  }

  private async debtorAccount(accountId?: string): Promise<ProviderAccount & { iban: string }> {
    const accounts = await this.listAccounts();
    const account = accountId ? accounts.find((candidate) => candidate.id === accountId) : accounts[0];
    if (!account?.iban) throw new ProviderError('PAYOUT_REJECTED', accountId ? `ConnectPay has no debtor account ${accountId}.` : 'ConnectPay returned no account to pay from.');
    return account as ProviderAccount & { iban: string };
  }

  private raise(response: OutboundResponse): void {
    if (response.status < 400) return;
    let body: { error?: string; message?: string } = {};
    try {
      body = response.json();
    } catch {
      body = {};
    }
    const detail = `${body.error ?? response.status}${body.message ? `: ${body.message}` : ''}`;
    if (response.status === 401 || response.status === 403) throw new ProviderError('PROVIDER_AUTH_FAILED', `ConnectPay refused the call (${detail}).`, { providerCode: body.error });
    if (response.status === 404) throw new ProviderError('PAYOUT_NOT_FOUND', `ConnectPay does not know it (${detail}).`, { providerCode: body.error });
    if (body.error === 'INSUFFICIENT_FUNDS') throw new ProviderError('INSUFFICIENT_FUNDS', `ConnectPay: ${detail}.`, { providerCode: body.error });
    throw new ProviderError('PAYOUT_REJECTED', `ConnectPay rejected the request (${detail}).`, { providerCode: body.error ?? response.status });
  }
}
