/**
 * The vault's domain types. No HTTP and no ORM here: persistence maps to and from these.
 */
// The providers and their environments are declared by the registered descriptors.
export { ALL_ENVIRONMENTS, ENVIRONMENTS, PROVIDERS } from '../../providers/provider-catalogue';
export type { EnvironmentOf, Provider, ProviderEnvironment } from '../../providers/provider-catalogue';
import type { Provider, ProviderEnvironment } from '../../providers/provider-catalogue';

export const CREDENTIAL_KINDS = [
  'mtls_client_certificate',
  'api_client',
  'webhook_secret',
  'merchant_signing_key',
  'api_keys',
  'oauth_refresh_token',
  'callback_ca',
] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

/**
 * pending: waiting for something (a CSR waiting for its signed certificate).
 * active / expiring / expired: the one in use for its provider + environment + kind.
 * retired: replaced by a rotation or taken out of service. revoked: must never be used again.
 */
export const CREDENTIAL_STATUSES = ['pending', 'active', 'expiring', 'expired', 'retired', 'revoked'] as const;
export type CredentialStatus = (typeof CREDENTIAL_STATUSES)[number];
export const IN_SERVICE_STATUSES: readonly CredentialStatus[] = ['active', 'expiring', 'expired'];

/** Days before notAfter at which a certificate is reported as expiring. */
export const EXPIRING_WITHIN_DAYS = 30;
/** A refresh token lives 30 days from the start, so it is flagged in its last week only. */
export const EXPIRING_WITHIN_DAYS_BY_KIND: Partial<Record<CredentialKind, number>> = { oauth_refresh_token: 7 };
/** Days before notAfter at which /health/ready reports the service as degraded. */
export const DEGRADED_WITHIN_DAYS = 7;

/** Public facts about an X.509 certificate (nothing secret). */
export interface CertificateFacts {
  subject: string;
  issuer: string;
  serialNumber: string;
  fingerprintSha256: string;
  notBefore: Date;
  notAfter: Date;
}

export interface Credential {
  id: string;
  provider: Provider;
  environment: ProviderEnvironment;
  kind: CredentialKind;
  label: string | null;
  status: CredentialStatus;
  /** Masked hints that let an operator recognise a secret: '…abcd'. */
  hints: Record<string, string>;
  /** Non-secret provider facts (e.g. the CN and application of a CSR, a brand id). */
  attributes: Record<string, string>;
  certificate: CertificateFacts | null;
  /** When it stops working: a certificate's notAfter, or a token's expiry. */
  expiresAt: Date | null;
  keyAlgorithm: string | null;
  csrPem: string | null;
  certificatePem: string | null;
  chainPem: string | null;
  caPem: string | null;
  publicKeyPem: string | null;
  createdAt: Date;
  createdByKeyId: string | null;
  activatedAt: Date | null;
  rotatedAt: Date | null;
  replacesId: string | null;
  replacedById: string | null;
  revokedAt: Date | null;
  revokedByKeyId: string | null;
}

/** A private key in PKCS#8 PEM: mTLS client certificates, signing keys, the callback CA. */
export interface PrivateKeySecret {
  privateKeyPem: string;
}

/** A client id and its secret (an API client, or a Basic authorization user and password). */
export interface ClientSecret {
  clientKey: string;
  clientSecret: string;
}

/** One opaque token (a webhook secret token, an OAuth refresh token). */
export interface TokenSecret {
  secretToken: string;
}

/** Body-credential API keys: login, passphrase, the HMAC signature secret and an optional read-only key. */
export interface D24KeysSecret {
  apiKey: string;
  apiPassphrase: string;
  apiSignature: string;
  readOnlyKey?: string;
}

/**
 * The secret each kind of credential holds. Only ever held in memory, decrypted, for as long as a
 * call needs it. The vault checks the shape when it seals and when it opens one.
 */
export interface SecretsByKind {
  mtls_client_certificate: PrivateKeySecret;
  api_client: ClientSecret;
  webhook_secret: TokenSecret;
  merchant_signing_key: PrivateKeySecret;
  api_keys: D24KeysSecret;
  oauth_refresh_token: TokenSecret;
  callback_ca: PrivateKeySecret;
}

export type SecretOf<K extends CredentialKind> = SecretsByKind[K];

/** The secret of a credential of any kind. */
export type SecretMaterial = SecretsByKind[CredentialKind];

/** One entry of a credential's append-only audit trail. */
export interface CredentialEvent {
  id: string;
  credentialId: string | null;
  type: string;
  actorKeyId: string | null;
  actorName: string;
  details: Record<string, unknown>;
  occurredAt: Date;
}

/** Who did something: an API key, or the service itself. */
export interface Actor {
  keyId: string | null;
  name: string;
  /** The key's principal (its owner, or key:<id>), for the operator audit trail; absent for the service itself. */
  principal?: string;
}

export const SYSTEM_ACTOR: Actor = { keyId: null, name: 'system' };

export function maskHint(secret: string): string {
  return secret.length <= 4 ? '…' : `…${secret.slice(-4)}`;
}
