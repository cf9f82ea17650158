import { randomUUID } from 'node:crypto';
import { packageVersion } from '../../config/paths';
import type { PreflightCheck, PreflightContext } from '../doctor/preflight';
import { clockCheck, failed, passed, warned } from '../doctor/preflight';
import { d24NotificationUrlProblem } from './d24.notification-url-rule';
import type { D24Environment } from './d24.descriptor';
import type { CredentialedHttp, OutboundResponse } from '../http/credentialed-http';
import type { Capabilities, InboundWebhook, PayoutInstruction, ProviderPayout, WebhookNotice } from '../provider.port';
import { PayoutProvider, ProviderError } from '../provider.port';
import { lookupAfterWrite } from '../provider-errors';
import type { D24Bank } from './d24.mapper';
import {
  banksPath,
  cancelRequest,
  cashoutBody,
  errorFromAnswer,
  readBanks,
  readCashoutCreated,
  readCashoutStatus,
  readNotification,
  setStatusRequest,
  statusRequest,
} from './d24.mapper';
import { controlMatches, d24Control, signD24Payload } from './d24.signature';

const USER_AGENT = `payments-backend/${packageVersion()}`;

/** What the client can do; the descriptor declares the same object. */
export const D24_CAPABILITIES: Capabilities = {
  payouts: { create: true, status: true, cancel: true, hold: true },
  accounts: { list: false, balance: false, transactions: false },
  webhooks: { verify: true },
};

/** D24 Cashouts v3: body credentials, a signature over the exact bytes, D24's codes mapped. */
export class D24Provider extends PayoutProvider {
  readonly provider = 'd24' as const;
  readonly capabilities: Capabilities = D24_CAPABILITIES;

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

  /**
   * Serialises once, signs those bytes, sends those same bytes. Every D24 call may be retried:
   * D24 deduplicates cashouts by external_id (a repeat answers 511) and the rest are reads or
   * status changes that land once.
   */
  private async call(
    operation: string,
    method: 'POST' | 'PUT' | 'DELETE' | 'GET',
    path: string,
    body: string,
    extraHeaders: Record<string, string> = {},
  ): Promise<OutboundResponse> {
    const response = await this.send(operation, method, path, body, extraHeaders);
    if (response.status >= 400) throw errorFromAnswer(response.status, response.body, operation);
    return response;
  }

  /** A signed call whose answer, error statuses included, is the caller's to read. */
  private async send(
    operation: string,
    method: 'POST' | 'PUT' | 'DELETE' | 'GET',
    path: string,
    body: string,
    extraHeaders: Record<string, string> = {},
  ): Promise<OutboundResponse> {
    const { apiKey, apiPassphrase, apiSignature } = await this.keys();
    const bytes = Buffer.from(body, 'utf8');
    const response = await this.http.request({
      provider: 'd24',
      environment: this.environment,
      family: 'tls',
      operation,
      method,
      path,
      body: method === 'GET' ? undefined : bytes,
      idempotent: true,
      headers: {
        'Payload-Signature': signD24Payload(apiSignature, bytes),
        'Content-Type': 'application/json',
        'User-Agent': USER_AGENT,
        // The seed: "You must provide your API Keys in all requests as the basic auth username and
        // password", and in the body's login and pass as well (credentialsBody). Never logged.
        Authorization: basicAuthorization(apiKey, apiPassphrase),
        ...extraHeaders,
      },
    });
    return response;
  }

  private async credentialsBody(fields: object): Promise<string> {
    const { apiKey, apiPassphrase } = await this.keys();
    return JSON.stringify({ login: apiKey, pass: apiPassphrase, ...fields });
  }

  /** A create needs the one-way TLS host and the cashout keys (see call and credentialsBody). */
  async assertReadyToCreate(): Promise<void> {
    await this.http.assertReady({ provider: 'd24', environment: this.environment, family: 'tls', kinds: ['api_keys'] });
  }

  /**
   * D24 deduplicates by external_id, so a create whose answer was lost may be sent again; a
   * 511 then means "we already have it" and the existing cashout is fetched instead.
   */
  async createPayout(instruction: PayoutInstruction): Promise<ProviderPayout> {
    const { apiKey, apiPassphrase } = await this.keys();
    try {
      const response = await this.call(
        'create',
        'POST',
        '/v3/cashout',
        cashoutBody(apiKey, apiPassphrase, instruction),
      );
      const created = readCashoutCreated(response.body);
      return instruction.onHold ? await this.confirmHeld(instruction.externalId, created) : created;
    } catch (error) {
      if (error instanceof ProviderError && error.code === 'PAYOUT_ALREADY_EXISTS')
        return lookupAfterWrite(this.getPayout({ externalId: instruction.externalId }));
      throw error;
    }
  }

  /**
   * D24 answers a create with the cashout id alone, so that a cashout asked to be held is held is
   * read from D24's status, not assumed (a merchant account without holds creates it PENDING). If
   * it is PENDING, it is put on hold now, the same call a later hold makes. If the status cannot
   * be read, or the hold fails, the accepted create is answered as D24 last showed it (pending,
   * not final) and the reconciler reads the truth; the payout then shows what D24 says.
   */
  private async confirmHeld(externalId: string, created: ProviderPayout): Promise<ProviderPayout> {
    const reference = { externalId, providerReference: created.providerReference };
    const read = await this.getPayout(reference).catch(() => created);
    if (read.state !== 'pending' || read === created) return read;
    return this.holdPayout(reference).catch(() => read);
  }

  async getPayout(reference: { externalId: string; providerReference?: string }): Promise<ProviderPayout> {
    const body = await this.credentialsBody(statusRequest(reference));
    const response = await this.call('status', 'POST', '/v3/cashout/status', body);
    return readCashoutStatus(response.body, reference.providerReference, 'status');
  }

  override async cancelPayout(reference: { externalId: string; providerReference?: string }): Promise<ProviderPayout> {
    const body = await this.credentialsBody(cancelRequest(reference));
    const response = await this.call('cancel', 'DELETE', '/v3/cashout/cancel', body);
    return readCashoutStatus(response.body, reference.providerReference, 'cancel');
  }

  override holdPayout(reference: { externalId: string; providerReference?: string }): Promise<ProviderPayout> {
    return this.setStatus(reference, 'ON_HOLD');
  }

  override releasePayout(reference: { externalId: string; providerReference?: string }): Promise<ProviderPayout> {
    return this.setStatus(reference, 'PENDING');
  }

  private async setStatus(
    reference: { externalId: string; providerReference?: string },
    status: 'ON_HOLD' | 'PENDING',
  ): Promise<ProviderPayout> {
    // D24 changes the status by cashout_id only.
    const providerReference = reference.providerReference;
    if (!providerReference) {
      throw new ProviderError(
        'PAYOUT_NOT_FOUND',
        'D24 needs the cashout_id to hold or release; it is not known for this payout yet.',
      );
    }
    const operation = status === 'ON_HOLD' ? 'hold' : 'release';
    const body = await this.credentialsBody(setStatusRequest(providerReference, status));
    const response = await this.call(operation, 'PUT', '/v3/cashout/status', body);
    return readCashoutStatus(response.body, providerReference, operation);
  }

  /**
   * The doctor's D24 checks, read-only. A status query for an external_id nobody ever used goes
   * through every gate D24 has (source IP, Basic and body credentials, signature) and, when all
   * pass, is answered 509 "not found": anything else names the gate that refused (D24's code
   * through the error table). Its Date header gives the clock check, and the notification URL is
   * checked against D24's rule (public HTTPS on 443).
   */
  override async preflight(context: PreflightContext): Promise<PreflightCheck[]> {
    const checks: PreflightCheck[] = [];
    const probe = `doctor-${randomUUID()}`;
    try {
      const response = await this.send(
        'doctor',
        'POST',
        '/v3/cashout/status',
        await this.credentialsBody({ external_id: probe }),
      );
      checks.push(authenticationCheck(response, context.localAddress));
      checks.push(clockCheck('D24', response.headers.date, new Date()));
    } catch (error) {
      checks.push(
        failed(
          'authentication',
          `D24 could not be asked: ${error instanceof Error ? error.message : String(error)}`,
          'Fix the checks above (host, DNS, TLS, credentials) first.',
        ),
      );
    }
    const problem = await d24NotificationUrlProblem(context.publicBaseUrl, context.lookup);
    if (!problem) checks.push(passed('notification_url', 'PUBLIC_BASE_URL is public HTTPS on 443, as D24 requires.'));
    else {
      const [said, ...fix] = problem.message.split('. ');
      // What only this host's DNS says is a warning even live: the internet may resolve it otherwise.
      const verdict = context.live && !problem.fromResolution ? failed : warned;
      checks.push(verdict('notification_url', `${said}.`, fix.join('. ')));
    }
    return checks;
  }

  /** Banks for a country, with the read-only key (GET, empty body signed). */
  async listBanks(country: string): Promise<D24Bank[]> {
    const { readOnlyKey } = await this.keys();
    if (!readOnlyKey)
      throw new ProviderError('CREDENTIAL_MISSING', 'The D24 keys have no read-only key; add it to list banks.');
    const response = await this.call('banks', 'GET', banksPath(country), '', {
      Authorization: `Bearer ${readOnlyKey}`,
    });
    return readBanks(response.body);
  }

  /**
   * A notification is trusted only if its `control` verifies (constant time), and only for what
   * the control covers: `external_id`. Everything else in it (cashout_id, date, status_reason) is
   * unsigned, so none of it is returned: the status is fetched by the signed external_id, and
   * since the control never changes for a payout, a delivery cannot be told from a replay (the
   * caller bounds fetches per payout instead).
   */
  override async verifyWebhook(webhook: InboundWebhook): Promise<WebhookNotice | null> {
    const notification = readNotification(webhook.rawBody);
    if (!notification) return null;
    const { apiSignature } = await this.keys();
    const expected = d24Control(
      apiSignature,
      notification.external_id,
      this.settings.controlPrefix,
      this.settings.controlSuffix,
    );
    if (!controlMatches(expected, notification.control)) return null;
    return { externalId: notification.external_id };
  }
}

/** HTTP Basic (RFC 7617): base64 of "user:password" in UTF-8. */
function basicAuthorization(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}

/**
 * What D24 answered the doctor's status query for an unknown external_id: 509 means every gate
 * let us through; any other code is the gate that refused, in the error table's words.
 */
function authenticationCheck(response: OutboundResponse, localAddress: string | undefined): PreflightCheck {
  if (response.status < 400)
    return failed(
      'authentication',
      `D24 answered ${response.status} for an external_id that was never used; a 509 was expected.`,
      'Check that the base URL points at D24 Cashouts v3 and not another service.',
    );
  const refusal = errorFromAnswer(response.status, response.body, 'doctor');
  if (refusal.providerCode === '509')
    return passed(
      'authentication',
      'D24 accepted our source address, API Key and Passphrase (Basic and body) and signature (509 for an unknown external_id).',
    );
  if (refusal.reason === 'SOURCE_IP_NOT_ALLOWED')
    return failed(
      'authentication',
      `${refusal.message.split('. ')[0]}. Our connection left from ${localAddress ?? 'an address this host did not report'}; behind NAT, D24 sees the NAT's public address instead.`,
      "Ask D24 to allow-list this host's public egress address for this environment (from the merchant panel or your account manager).",
    );
  const [said, ...fix] = refusal.message.split('. ');
  return failed(
    'authentication',
    `${said}.`,
    fix.join('. ') || 'Check the D24 keys of this environment (API Key, Passphrase, secret key).',
  );
}
