import { isIP } from 'node:net';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { ConnectPayEnvironment } from './connectpay.descriptor';
import type { CredentialedHttp, OutboundResponse } from '../http/credentialed-http';
import type { HostFamily } from '../provider-endpoints';
import type {
  Capabilities,
  InboundWebhook,
  Money,
  PayoutInstruction,
  ProviderAccount,
  ProviderPayout,
  ProviderTransaction,
  WebhookNotice,
} from '../provider.port';
import { PayoutProvider, ProviderError } from '../provider.port';
import { lookupAfterWrite } from '../provider-errors';
import type { ConnectPayEndpoint } from './connectpay.endpoints';
import { assertHostFamily, CONNECTPAY_ENDPOINTS, endpointPath } from './connectpay.endpoints';
import type { ConnectPayAccessTokens } from './connectpay.access-tokens';
import {
  accountsQuery,
  chooseRail,
  debtorAccount,
  errorFromAnswer,
  ibanBeneficiary,
  initiatePaymentRequest,
  instructedAmount,
  merchantPaymentRequest,
  paymentRailsRequest,
  readAccounts,
  readDuplicatePayment,
  readMerchantPayment,
  readPaymentInitiated,
  readPaymentRails,
  readPaymentStatus,
  readTransactions,
  readWebhookBody,
  transactionsQuery,
  webhookNotice,
} from './connectpay.mapper';
import { merchantSignature } from './connectpay.signature';
import type { PreflightCheck } from '../doctor/preflight';
import { clockCheck, failed, failedCall, passed, skipped, warned } from '../doctor/preflight';

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
  /** Error statuses the flow reads itself (a 409 on initiate: the payment exists); any other 4xx is raised. */
  answers?: number[];
  /** Set on the one retry after a 401 dropped the cached access token: a second 401 is raised. */
  afterTokenRefresh?: boolean;
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

  /**
   * A Bearer call on the mTLS host; a 401 drops the cached token and tries once more. An error
   * answer is raised as the domain error CONNECTPAY_ERRORS gives for it.
   */
  async call(endpoint: ConnectPayEndpoint, options: CallOptions = {}): Promise<OutboundResponse> {
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
    if (response.status === 401 && !options.afterTokenRefresh) {
      this.tokens.forget(this.environment);
      return this.call(endpoint, { ...options, afterTokenRefresh: true });
    }
    if (response.status >= 400 && !options.answers?.includes(response.status))
      throw errorFromAnswer(response.status, response.body);
    return response;
  }

  /**
   * A create calls only the mTLS host (accounts, rails, initiate, nosca, status), with its client
   * chain, and with an access token (see call).
   */
  async assertReadyToCreate(): Promise<void> {
    await this.http.assertReady({ provider: 'connectpay', environment: this.environment, family: 'mtls', kinds: [] });
    await this.tokens.assertAuthorized(this.environment);
  }

  async createPayout(instruction: PayoutInstruction): Promise<ProviderPayout> {
    const beneficiary = ibanBeneficiary(instruction);
    const debtor = await this.debtorAccount(instruction.debtorAccountId);

    const railsResponse = await this.call('paymentRails', {
      body: paymentRailsRequest(debtor.iban, beneficiary, instructedAmount(instruction)),
    });
    const rail = chooseRail(readPaymentRails(railsResponse.body));

    const initiated = await this.call('initiatePayment', {
      body: initiatePaymentRequest(rail, debtor.iban, beneficiary, instruction),
      answers: [409],
    });
    let paymentOrderNo: string;
    let fees: Money | undefined;
    if (initiated.status === 409) {
      // Initiated before (our externalReference): continue with that payment, never a second one.
      paymentOrderNo = readDuplicatePayment(initiated.body);
    } else {
      ({ paymentOrderNo, fees } = readPaymentInitiated(initiated.body));
    }
    // A 409 here: authorised before (a create resumed after a lost answer).
    await this.call('authorisePayment', { params: { paymentOrderNo }, answers: [409] });
    // Initiated and authorised: a lookup that fails now leaves the payout's outcome unknown, not failed.
    const payout = await lookupAfterWrite(
      this.getPayout({ externalId: instruction.externalId, providerReference: paymentOrderNo }),
    );
    return fees ? { ...payout, fees } : payout;
  }

  async getPayout(reference: { externalId: string; providerReference?: string }): Promise<ProviderPayout> {
    if (!reference.providerReference) {
      throw new ProviderError(
        'PAYOUT_NOT_FOUND',
        'ConnectPay looks payments up by paymentOrderNo, which is not known for this payout.',
      );
    }
    const response = await this.call('paymentStatus', { params: { paymentOrderNo: reference.providerReference } });
    return readPaymentStatus(response.body, reference.providerReference);
  }

  /**
   * The doctor's ConnectPay checks, read-only: the accounts list over the mTLS host proves the
   * client certificate is registered, the client key and secret are accepted and the OAuth
   * authorization holds (a token is issued over mTLS first); its Date header gives the clock.
   * Then the one-way host is asked for the same list with the same valid token: it must refuse.
   * Asked without a token, any host refuses, and that would prove nothing about the separation.
   */
  override async preflight(): Promise<PreflightCheck[]> {
    const checks: PreflightCheck[] = [];
    try {
      const response = await this.call('accounts', { query: accountsQuery() });
      readAccounts(response.body);
      checks.push(
        passed(
          'authentication',
          'ConnectPay issued an access token over mTLS and answered the accounts list with it (certificate registered, client accepted, authorization in place).',
        ),
        clockCheck('ConnectPay', response.headers.date, new Date()),
      );
    } catch (error) {
      checks.push(
        failedCall(
          'authentication',
          error,
          'Check the DevApp client (key, secret), the registered certificate and the OAuth authorization of this environment.',
        ),
        skipped('host_separation', 'Not tried: without an access token a refusal by the one-way host proves nothing.'),
      );
      return checks;
    }
    checks.push(await this.hostSeparationCheck());
    return checks;
  }

  /**
   * The one doctor call that sends a Bearer token to the one-way host (which assertHostFamily
   * otherwise forbids): a refusal without a token proves nothing. It is sent only when the two
   * configured hosts share their parent domain (or address), so a mistyped _TLS_URL never gets
   * it, and a token that the one-way host accepted is dropped from the cache afterwards.
   */
  private async hostSeparationCheck(): Promise<PreflightCheck> {
    const mtlsHost = new URL(this.http.url('connectpay', this.environment, 'mtls', '/')).hostname;
    const oneWayHost = new URL(this.http.url('connectpay', this.environment, 'tls', '/')).hostname;
    if (parentOf(mtlsHost) !== parentOf(oneWayHost))
      return warned(
        'host_separation',
        `Not judged: the one-way host ${oneWayHost} is not in the mTLS host's domain (${parentOf(mtlsHost)}), so no token is sent to it.`,
        'Check the _TLS_URL variable of this environment: both ConnectPay hosts are in one domain.',
      );
    try {
      const accessToken = await this.tokens.accessToken(this.environment);
      const oneWay = await this.http.request({
        provider: 'connectpay',
        environment: this.environment,
        family: 'tls',
        operation: 'doctor',
        method: 'GET',
        path: endpointPath('accounts', undefined, accountsQuery()),
        idempotent: true,
        headers: { Authorization: `Bearer ${accessToken}`, 'X-Request-ID': randomUUID() },
      });
      if (oneWay.status < 400) this.tokens.forget(this.environment);
      return oneWay.status >= 400
        ? passed(
            'host_separation',
            `The one-way TLS host refuses person data even with a valid token (HTTP ${oneWay.status}), as it must.`,
          )
        : failed(
            'host_separation',
            `The one-way TLS host answered the accounts list (HTTP ${oneWay.status}): person data must only be served over mTLS.`,
            'Check that the _TLS_URL and _MTLS_URL variables of this environment are not swapped.',
          );
    } catch (error) {
      return failedCall('host_separation', error, 'Check the one-way TLS host of this environment.');
    }
  }

  override async listAccounts(): Promise<ProviderAccount[]> {
    const response = await this.call('accounts', { query: accountsQuery() });
    return readAccounts(response.body);
  }

  override async getBalance(accountId: string): Promise<Money> {
    const account = (await this.listAccounts()).find((candidate) => candidate.id === accountId);
    if (!account?.balance) throw new ProviderError('PAYOUT_NOT_FOUND', `ConnectPay has no account ${accountId}.`);
    return account.balance;
  }

  override async listTransactions(
    accountId: string,
    range: { from?: string; to?: string },
  ): Promise<ProviderTransaction[]> {
    const response = await this.call('transactions', { params: { accountId }, query: transactionsQuery(range) });
    return readTransactions(response.body);
  }

  /** Webhooks carry no signature: the Secret Token header (compared in constant time) is the proof. */
  override async verifyWebhook(webhook: InboundWebhook): Promise<WebhookNotice | null> {
    const offered = webhook.headers[this.settings.webhookTokenHeader.toLowerCase()];
    if (typeof offered !== 'string') return null;
    const stored = await this.http.material('connectpay', this.environment, 'webhook_secret').catch(() => null);
    const expected = stored?.secret.secretToken;
    if (
      !expected ||
      offered.length !== expected.length ||
      !timingSafeEqual(Buffer.from(offered), Buffer.from(expected))
    )
      return null;
    const body = readWebhookBody(webhook.rawBody);
    if (!body) return null;
    return webhookNotice(body, webhook.headers['x-connectpay-timestamp']);
  }

  /** Merchant API v2 on the one-way host: Basic auth plus X-Signature with the merchant key. */
  async createMerchantPayment(amount: Money, reference: string): Promise<{ paymentId: string; status: string }> {
    const endpoint = CONNECTPAY_ENDPOINTS.merchantCreatePayment;
    const [{ secret: client }, { secret: signer }] = await Promise.all([
      this.http.material('connectpay', this.environment, 'api_client'),
      this.http.material('connectpay', this.environment, 'merchant_signing_key'),
    ]);
    const body = JSON.stringify(merchantPaymentRequest(amount, reference));
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
        'X-Signature': merchantSignature(
          signer.privateKeyPem,
          endpoint.method,
          url,
          body,
          this.settings.xSignatureSeparator,
        ),
      },
    });
    if (response.status >= 400) throw errorFromAnswer(response.status, response.body);
    return readMerchantPayment(response.body);
  }

  private async debtorAccount(accountId?: string): Promise<ProviderAccount & { iban: string }> {
    return debtorAccount(await this.listAccounts(), accountId);
  }
}

/** A host's parent domain (its last two labels), or the address itself. */
function parentOf(host: string): string {
  return isIP(host.replace(/^\[|\]$/g, '')) ? host : host.split('.').slice(-2).join('.');
}
