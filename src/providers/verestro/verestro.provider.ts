import { randomUUID } from 'node:crypto';
import type { PreflightCheck } from '../doctor/preflight';
import { clockCheck, failedCall, passed } from '../doctor/preflight';
import type { VerestroEnvironment } from './verestro.descriptor';
import type { CredentialedHttp, OutboundResponse } from '../http/credentialed-http';
import type { Capabilities, InboundWebhook, PayoutInstruction, ProviderPayout, WebhookNotice } from '../provider.port';
import { PayoutProvider, ProviderError } from '../provider.port';
import { lookupAfterWrite } from '../provider-errors';
import {
  callbackDeliveryId,
  errorFromAnswer,
  orderPath,
  readCallback,
  readDuplicateOrder,
  readOrder,
  readSendMoney,
  SEND_MONEY_PATH,
  sendMoneyRequest,
} from './verestro.mapper';

/** What the client can do; the descriptor declares the same object. */
export const VERESTRO_CAPABILITIES: Capabilities = {
  payouts: { create: true, status: true, cancel: false, hold: false },
  accounts: { list: false, balance: false, transactions: false },
  webhooks: { verify: true },
};

/** Verestro payouts to cards: mTLS with the certificate from the CSR flow, Basic authorization on top. */
export class VerestroProvider extends PayoutProvider {
  readonly provider = 'verestro' as const;
  readonly capabilities: Capabilities = VERESTRO_CAPABILITIES;

  constructor(
    readonly environment: VerestroEnvironment,
    private readonly http: CredentialedHttp,
  ) {
    super();
  }

  /**
   * An error answer is raised as the domain error VERESTRO_ERRORS gives for it, unless the flow
   * reads that status itself. Every call may be retried: send-money carries our external id, so a
   * repeat answers 409 and the existing order is fetched.
   */
  private async call(
    operation: string,
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    answers: number[] = [],
  ): Promise<OutboundResponse> {
    const { secret } = await this.http.material('verestro', this.environment, 'api_client');
    const response = await this.http.request({
      provider: 'verestro',
      environment: this.environment,
      family: 'mtls',
      operation,
      method,
      path,
      idempotent: true,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: {
        Authorization: 'Basic ' + Buffer.from(`${secret.clientKey}:${secret.clientSecret}`).toString('base64'),
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
    });
    if (response.status >= 400 && !answers.includes(response.status))
      throw errorFromAnswer(response.status, response.body);
    return response;
  }

  /** A create needs the mTLS host with its client certificate, and the Basic authorization (see call). */
  async assertReadyToCreate(): Promise<void> {
    await this.http.assertReady({
      provider: 'verestro',
      environment: this.environment,
      family: 'mtls',
      kinds: ['api_client'],
    });
  }

  /** Verestro deduplicates by externalId (a repeat answers 409 with the order): safe to retry. */
  async createPayout(instruction: PayoutInstruction): Promise<ProviderPayout> {
    const response = await this.call('send-money', 'POST', SEND_MONEY_PATH, sendMoneyRequest(instruction), [409]);
    // Sent before: Verestro has the order, so a lookup that fails leaves the outcome unknown, not failed.
    if (response.status === 409)
      return lookupAfterWrite(
        this.getPayout({ externalId: instruction.externalId, providerReference: readDuplicateOrder(response.body) }),
      );
    return readSendMoney(response.body);
  }

  async getPayout(reference: { externalId: string; providerReference?: string }): Promise<ProviderPayout> {
    if (!reference.providerReference)
      throw new ProviderError(
        'PAYOUT_NOT_FOUND',
        'Verestro looks orders up by orderId, which is not known for this payout.',
      );
    const response = await this.call('order-status', 'GET', orderPath(reference.providerReference), undefined);
    return readOrder(response.body);
  }

  /**
   * The doctor's Verestro check, read-only: the status of an order id nobody ever used, over the
   * mTLS host with the Basic authorization. 404 means both were accepted; 401/403 names the
   * Basic authorization. Its Date header gives the clock.
   */
  override async preflight(): Promise<PreflightCheck[]> {
    try {
      const response = await this.call('doctor', 'GET', orderPath(randomUUID()), undefined, [404]);
      return [
        passed(
          'authentication',
          `Verestro accepted our client certificate and Basic authorization (HTTP ${response.status} for an unknown order).`,
        ),
        clockCheck('Verestro', response.headers.date, new Date()),
      ];
    } catch (error) {
      return [
        failedCall(
          'authentication',
          error,
          'Store the payouts Basic authorization (api_client) Verestro issued for this environment.',
        ),
      ];
    }
  }

  /**
   * Callbacks arrive over reverse mTLS (the TLS layer authenticates Verestro); what is left is
   * the body and the optional X-Idempotency-Key used to process a delivery once.
   */
  // eslint-disable-next-line @typescript-eslint/require-await -- the port is async; here mutual TLS already proved the sender
  override async verifyWebhook(webhook: InboundWebhook): Promise<WebhookNotice | null> {
    const callback = readCallback(webhook.rawBody);
    if (!callback) return null;
    return {
      providerReference: callback.orderId,
      externalId: callback.externalId,
      deliveryId: callbackDeliveryId(callback.orderId, webhook.headers['x-idempotency-key'], webhook.rawBody),
    };
  }
}
