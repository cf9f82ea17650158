import type { ConnectPayEnvironment } from './connectpay.descriptor';

/**
 * What the ConnectPay client needs from the OAuth token manager (connectpay.oauth.ts). An
 * abstract class so it is also the DI token the descriptor resolves, without importing the
 * manager itself (which reaches the vault, the database and Nest).
 */
export abstract class ConnectPayAccessTokens {
  /** A valid access token, refreshed when it is about to expire. */
  abstract accessToken(environment: ConnectPayEnvironment): Promise<string>;
  /**
   * Resolves when a call can get an access token without an operator: one is cached, or the
   * refresh token and the API client that refreshes it are in service. Otherwise rejects as the
   * call would: OAUTH_AUTHORIZATION_REQUIRED, or the API client's CREDENTIAL_* error. Reads caches.
   */
  abstract assertAuthorized(environment: ConnectPayEnvironment): Promise<void>;
  /** Drops the cached token after ConnectPay refused it, so the next call refreshes. */
  abstract forget(environment: ConnectPayEnvironment): void;
}
