import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { CredentialVault, secretOnlyCredential } from '../../credentials/credential-vault.service';
import { Actor, Credential, maskHint, SYSTEM_ACTOR } from '../../credentials/domain/credential';
import { ConnectPayAccessTokens } from './connectpay.access-tokens';
import type { ConnectPayEnvironment } from './connectpay.descriptor';
import { CredentialedHttp } from '../http/credentialed-http';
import { ProviderError } from '../provider.port';
import { CONNECTPAY_ENDPOINTS, endpointPath } from './connectpay.endpoints';
import { ConnectPayTokenAnswer, readTokenAnswer, tokenErrorFromAnswer } from './connectpay.mapper';

/** The token answer, checked at runtime by the mapper. */
type TokenResponse = ConnectPayTokenAnswer;

/** Refresh this long before the access token's own expiry, so a call never carries a dying token. */
const EARLY_REFRESH_MS = 60_000;

/**
 * ConnectPay OAuth over mTLS: exchanges the auth code an operator generated in Online Banking,
 * keeps the access token in memory, refreshes it before it expires with one refresh in flight per
 * environment, and keeps the 30-day refresh token sealed in the vault (rotated when ConnectPay
 * returns a new one; flagged as expiring in its last week).
 */
@Injectable()
export class ConnectPayTokens implements ConnectPayAccessTokens {
  private readonly tokens = new Map<ConnectPayEnvironment, { accessToken: string; refreshAt: number }>();
  private readonly refreshing = new Map<ConnectPayEnvironment, Promise<string>>();

  constructor(
    private readonly http: CredentialedHttp,
    private readonly vault: CredentialVault,
  ) {}

  async authorize(environment: ConnectPayEnvironment, authCode: string, actor: Actor): Promise<Credential> {
    const response = await this.tokenCall(
      environment,
      new URLSearchParams({ grant_type: 'authorization_code', code: authCode }),
    );
    return this.keep(environment, response, actor);
  }

  async accessToken(environment: ConnectPayEnvironment): Promise<string> {
    const cached = this.tokens.get(environment);
    if (cached && cached.refreshAt > Date.now()) return cached.accessToken;
    let inFlight = this.refreshing.get(environment);
    if (!inFlight) {
      inFlight = this.refresh(environment).finally(() => this.refreshing.delete(environment));
      this.refreshing.set(environment, inFlight);
    }
    return inFlight;
  }

  async assertAuthorized(environment: ConnectPayEnvironment): Promise<void> {
    const cached = this.tokens.get(environment);
    if (cached && cached.refreshAt > Date.now()) return;
    // A refresh is due: it needs what refresh() and tokenCall() read, here from the credential caches.
    let stored: { credential: Credential; secret: { secretToken: string } };
    try {
      stored = await this.http.material('connectpay', environment, 'oauth_refresh_token');
    } catch (error) {
      // Missing, revoked or expired: in each case the operator authorizes again.
      if (error instanceof ProviderError) throw authorizationRequired(environment);
      throw error;
    }
    if (!stored.secret.secretToken || (stored.credential.expiresAt?.getTime() ?? Infinity) <= Date.now())
      throw authorizationRequired(environment);
    await this.http.material('connectpay', environment, 'api_client');
  }

  /** After a 401 the cached token is dropped; the next call refreshes. */
  forget(environment: ConnectPayEnvironment): void {
    this.tokens.delete(environment);
  }

  private async refresh(environment: ConnectPayEnvironment): Promise<string> {
    const stored = await this.vault.activeMaterial('connectpay', environment, 'oauth_refresh_token');
    if (
      !stored?.secret.secretToken ||
      (stored.credential.expiresAt && stored.credential.expiresAt.getTime() <= Date.now())
    ) {
      throw authorizationRequired(environment);
    }
    const response = await this.tokenCall(
      environment,
      new URLSearchParams({ grant_type: 'refresh_token', refresh_token: stored.secret.secretToken }),
    );
    if (response.refresh_token && response.refresh_token !== stored.secret.secretToken) {
      await this.keep(environment, response, SYSTEM_ACTOR);
    } else {
      this.cache(environment, response);
    }
    return response.access_token;
  }

  private cache(environment: ConnectPayEnvironment, response: TokenResponse): void {
    this.tokens.set(environment, {
      accessToken: response.access_token,
      refreshAt: Date.now() + response.expires_in * 1000 - EARLY_REFRESH_MS,
    });
  }

  private async keep(environment: ConnectPayEnvironment, response: TokenResponse, actor: Actor): Promise<Credential> {
    this.cache(environment, response);
    return this.vault.create(
      secretOnlyCredential({
        provider: 'connectpay',
        environment,
        kind: 'oauth_refresh_token',
        label: `ConnectPay ${environment} OAuth refresh token`,
        hints: { refreshToken: maskHint(response.refresh_token) },
        attributes: { scope: response.scope },
        expiresAt: new Date(Date.now() + Number(response.refresh_token_expires_in) * 1000),
      }),
      { secretToken: response.refresh_token },
      actor,
      { activate: true },
    );
  }

  private async tokenCall(environment: ConnectPayEnvironment, form: URLSearchParams): Promise<TokenResponse> {
    const { secret } = await this.http.material('connectpay', environment, 'api_client');
    const endpoint = CONNECTPAY_ENDPOINTS.token;
    const response = await this.http.request({
      provider: 'connectpay',
      environment,
      family: endpoint.family,
      operation: 'oauth-token',
      method: endpoint.method,
      path: endpointPath('token'),
      idempotent: endpoint.idempotent,
      body: form.toString(),
      headers: {
        Authorization: 'Basic ' + Buffer.from(`${secret.clientKey}:${secret.clientSecret}`).toString('base64'),
        'Content-Type': 'application/x-www-form-urlencoded',
        'X-Request-ID': randomUUID(),
      },
    });
    if (response.status >= 400) throw tokenErrorFromAnswer(response.status, response.body);
    return readTokenAnswer(response.body);
  }
}

function authorizationRequired(environment: ConnectPayEnvironment): ProviderError {
  return new ProviderError(
    'OAUTH_AUTHORIZATION_REQUIRED',
    `ConnectPay ${environment} needs an authorization: generate an auth code in Online Banking (Settings → API) and submit it to POST /v1/credentials/connectpay/oauth/authorize.`,
  );
}
