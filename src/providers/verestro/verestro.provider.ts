import { createHash } from 'node:crypto';
import type { VerestroEnvironment } from './verestro.descriptor';
import type { CredentialedHttp, OutboundResponse } from '../http/credentialed-http';
import {
  Capabilities,
  CardBeneficiary,
  InboundWebhook,
  PayoutInstruction,
  PayoutProvider,
  ProviderError,
  ProviderPayout,
  ProviderPayoutState,
  WebhookNotice,
} from '../provider.port';

/** Order statuses in the domain's words. Payload shapes are UNCONFIRMED publicly: this file is the mapping. */
const STATES: Record<string, ProviderPayoutState> = { PENDING: 'pending', PROCESSING: 'processing', COMPLETED: 'completed', FAILED: 'failed', REJECTED: 'rejected' };

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

  private async call(operation: string, method: 'GET' | 'POST', path: string, body: unknown, idempotent: boolean): Promise<OutboundResponse> {
    const { secret } = await this.http.material('verestro', this.environment, 'api_client');
    return this.http.request({
      provider: 'verestro',
      environment: this.environment,
      family: 'mtls',
      operation,
      method,
      path,
      idempotent,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: {
        Authorization: 'Basic ' + Buffer.from(`${secret.clientKey}:${secret.clientSecret}`).toString('base64'),
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
    });
  }

  /** Verestro deduplicates by externalId (a repeat answers 409 with the order): safe to retry. */
  async createPayout(instruction: PayoutInstruction): Promise<ProviderPayout> {
    const card = instruction.beneficiary as CardBeneficiary;
    if (card.type !== 'card') throw new ProviderError('PAYOUT_REJECTED', 'Verestro pays out to cards (beneficiary.type card).');
    const response = await this.call(
      'send-money',
      'POST',
      '/api/v2/client/send-money',
      { amount: instruction.amount.amount, currency: instruction.amount.currency, recipient: { cardToken: card.cardToken }, externalId: instruction.externalId, description: instruction.reference },
      true,
    );
    if (response.status === 409) {
      const { orderId } = response.json<{ orderId: string }>();
      return this.getPayout({ externalId: instruction.externalId, providerReference: orderId });
    }
    this.raise(response);
    const order = response.json<{ orderId: string; status: string }>();
    return { providerReference: order.orderId, state: STATES[order.status] ?? 'processing', providerStatus: order.status };
  }

  async getPayout(reference: { externalId: string; providerReference?: string }): Promise<ProviderPayout> {
    if (!reference.providerReference) throw new ProviderError('PAYOUT_NOT_FOUND', 'Verestro looks orders up by orderId, which is not known for this payout.');
    const response = await this.call('order-status', 'GET', `/api/v2/client/send-money/${encodeURIComponent(reference.providerReference)}`, undefined, true);
    this.raise(response);
    const order = response.json<{ orderId: string; status: string }>();
    return { providerReference: order.orderId, state: STATES[order.status] ?? 'processing', providerStatus: order.status };
  }

  /**
   * Callbacks arrive over reverse mTLS (the TLS layer authenticates Verestro); what is left is
   * the body and the optional X-Idempotency-Key used to process a delivery once.
   */
  override async verifyWebhook(webhook: InboundWebhook): Promise<WebhookNotice | null> {
    let body: unknown;
    try {
      body = JSON.parse(webhook.rawBody.toString('utf8'));
    } catch {
      return null;
    }
    // Anything but an object with a plain string orderId is malformed (JSON null, arrays, numbers,
    // NUL characters PostgreSQL cannot store): refused here, not failing later in a query.
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
    const { orderId, externalId } = body as Record<string, unknown>;
    if (!isReference(orderId)) return null;
    const key = webhook.headers['x-idempotency-key'];
    // Without a key, a delivery is one exact body: a hash of all of it, not of a prefix every callback shares.
    const deliveryId = typeof key === 'string' && key ? key : `${orderId}:${createHash('sha256').update(webhook.rawBody).digest('base64url')}`;
    return { providerReference: orderId, externalId: isReference(externalId) ? externalId : undefined, deliveryId };
  }

  private raise(response: OutboundResponse): void {
    if (response.status < 400) return;
    const detail = response.body.toString('utf8').slice(0, 200);
    if (response.status === 401 || response.status === 403) throw new ProviderError('PROVIDER_AUTH_FAILED', `Verestro refused the Basic authorization (${response.status}).`);
    if (response.status === 404) throw new ProviderError('PAYOUT_NOT_FOUND', 'Verestro does not know this order.');
    throw new ProviderError('PAYOUT_REJECTED', `Verestro rejected the payout (${response.status}: ${detail}).`, { providerCode: response.status });
  }
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** An order or payout reference as Verestro sends it: a short printable string. */
function isReference(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 200 && !CONTROL.test(value);
}
