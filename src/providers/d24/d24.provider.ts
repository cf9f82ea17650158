import { packageVersion } from '../../config/paths';
import type { D24Environment } from '../../credentials/domain/credential';
import type { CredentialedHttp, OutboundResponse } from '../http/credentialed-http';
import {
  Capabilities,
  InboundWebhook,
  PayoutInstruction,
  PayoutProvider,
  ProviderError,
  ProviderPayout,
  WebhookNotice,
} from '../provider.port';
import { cashoutBody, D24StatusBody, toProviderError, toProviderPayout } from './d24.mapper';
import { controlMatches, d24Control, signD24Payload } from './d24.signature';

const USER_AGENT = `payments-backend/${packageVersion()}`;

/** D24 Cashouts v3: body credentials, a signature over the exact bytes, D24's codes mapped. */
export class D24Provider extends PayoutProvider {
  readonly provider = 'd24' as const;
  readonly capabilities: Capabilities = {
    payouts: { create: true, status: true, cancel: true, hold: true },
    accounts: { list: false, balance: false, transactions: false },
    webhooks: { verify: true },
  };

  constructor(
    readonly environment: D24Environment,
    private readonly http: CredentialedHttp,
    private readonly settings: { controlPrefix: string; controlSuffix: string },
  ) {
    super();
  }

  private async keys() {
    const { secret } = await this.http.material('d24', this.environment, 'api_keys');
    return secret;
  }

  /** Serialises once, signs those bytes, sends those same bytes. */
  private async call(operation: string, method: 'POST' | 'PUT' | 'DELETE' | 'GET', path: string, body: string, idempotent: boolean, extraHeaders: Record<string, string> = {}): Promise<OutboundResponse> {
    const { apiSignature } = await this.keys();
    const bytes = Buffer.from(body, 'utf8');
    const response = await this.http.request({
      provider: 'd24',
      environment: this.environment,
      family: 'tls',
      operation,
      method,
      path,
      body: method === 'GET' ? undefined : bytes,
      idempotent,
      headers: {
        'Payload-Signature': signD24Payload(apiSignature, bytes),
        'Content-Type': 'application/json',
        'User-Agent': USER_AGENT,
        ...extraHeaders,
      },
    });
    if (response.status >= 400) throw toProviderError(response.status, safeJson(response));
    return response;
  }

  private async credentialsBody(fields: Record<string, unknown>): Promise<string> {
    const { apiKey, apiPassphrase } = await this.keys();
    return JSON.stringify({ login: apiKey, pass: apiPassphrase, ...fields });
  }

  /**
   * D24 deduplicates by external_id, so a create whose answer was lost may be sent again; a
   * 511 then means "we already have it" and the existing cashout is fetched instead.
   */
  async createPayout(instruction: PayoutInstruction): Promise<ProviderPayout> {
    const { apiKey, apiPassphrase } = await this.keys();
    try {
      const response = await this.call('create', 'POST', '/v3/cashout', cashoutBody(apiKey, apiPassphrase, instruction), true);
      const { cashout_id } = response.json<{ cashout_id: string | number }>();
      return { providerReference: String(cashout_id), state: 'pending', providerStatus: 'PENDING' };
    } catch (error) {
      if (error instanceof ProviderError && error.code === 'PAYOUT_ALREADY_EXISTS') return this.getPayout({ externalId: instruction.externalId });
      throw error;
    }
  }

  async getPayout(reference: { externalId: string; providerReference?: string }): Promise<ProviderPayout> {
    const body = await this.credentialsBody(
      reference.providerReference ? { cashout_id: Number(reference.providerReference) } : { external_id: reference.externalId },
    );
    const response = await this.call('status', 'POST', '/v3/cashout/status', body, true);
    return toProviderPayout(reference.providerReference, response.json<D24StatusBody>());
  }

  override async cancelPayout(reference: { externalId: string; providerReference?: string }): Promise<ProviderPayout> {
    const body = await this.credentialsBody({
      ...(reference.providerReference ? { cashout_id: Number(reference.providerReference) } : {}),
      external_id: reference.externalId,
    });
    const response = await this.call('cancel', 'DELETE', '/v3/cashout/cancel', body, true);
    return toProviderPayout(reference.providerReference, response.json<D24StatusBody>());
  }

  override holdPayout(reference: { externalId: string; providerReference?: string }): Promise<ProviderPayout> {
    return this.setStatus(reference, 'ON_HOLD');
  }

  override releasePayout(reference: { externalId: string; providerReference?: string }): Promise<ProviderPayout> {
    return this.setStatus(reference, 'PENDING');
  }

  private async setStatus(reference: { externalId: string; providerReference?: string }, status: 'ON_HOLD' | 'PENDING'): Promise<ProviderPayout> {
    // D24 changes the status by cashout_id only.
    const providerReference = reference.providerReference;
    if (!providerReference) {
      throw new ProviderError('PAYOUT_NOT_FOUND', 'D24 needs the cashout_id to hold or release; it is not known for this payout yet.');
    }
    const body = await this.credentialsBody({ cashout_id: Number(providerReference), status });
    const response = await this.call(status === 'ON_HOLD' ? 'hold' : 'release', 'PUT', '/v3/cashout/status', body, true);
    return toProviderPayout(providerReference, response.json<D24StatusBody>());
  }

  /** Banks for a country, with the read-only key (GET, empty body signed). */
  async listBanks(country: string): Promise<Array<{ code: number; name: string }>> {
    const { readOnlyKey } = await this.keys();
    if (!readOnlyKey) throw new ProviderError('CREDENTIAL_MISSING', 'The D24 keys have no read-only key; add it to list banks.');
    const response = await this.call('banks', 'GET', `/v3/banks?country=${encodeURIComponent(country)}`, '', true, { Authorization: `Bearer ${readOnlyKey}` });
    return response.json<Array<{ code: number; name: string }>>();
  }

  /**
   * A notification is trusted only if its `control` verifies (constant time), and only for what
   * the control covers: `external_id`. Everything else in it (cashout_id, date, status_reason) is
   * unsigned, so none of it is returned: the status is fetched by the signed external_id, and
   * since the control never changes for a payout, a delivery cannot be told from a replay (the
   * caller bounds fetches per payout instead).
   */
  override async verifyWebhook(webhook: InboundWebhook): Promise<WebhookNotice | null> {
    const form = new URLSearchParams(webhook.rawBody.toString('utf8'));
    const externalId = form.get('external_id');
    const control = form.get('control');
    if (!externalId || !control) return null;
    const { apiSignature } = await this.keys();
    const expected = d24Control(apiSignature, externalId, this.settings.controlPrefix, this.settings.controlSuffix);
    if (!controlMatches(expected, control)) return null;
    return { externalId };
  }
}

function safeJson(response: OutboundResponse): { code?: number; message?: string; reason?: string } {
  try {
    return response.json();
  } catch {
    return {};
  }
}
