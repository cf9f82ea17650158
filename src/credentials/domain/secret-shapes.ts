import { z } from 'zod';
import type { CredentialKind, SecretOf, SecretsByKind } from './credential';

const text = z.string().min(1);
const privateKey = z.object({ privateKeyPem: text });
const token = z.object({ secretToken: text });

/** The shape of each kind's secret, checked when a secret is sealed and when it is opened. */
const SHAPES: { [K in CredentialKind]: z.ZodType<SecretsByKind[K]> } = {
  mtls_client_certificate: privateKey,
  api_client: z.object({ clientKey: text, clientSecret: text }),
  webhook_secret: token,
  merchant_signing_key: privateKey,
  api_keys: z.object({ apiKey: text, apiPassphrase: text, apiSignature: text, readOnlyKey: text.optional() }),
  oauth_refresh_token: token,
  callback_ca: privateKey,
};

/** Never carries secret material: it names the kind and the fields that are wrong, not their values. */
export class SecretShapeError extends Error {
  constructor(kind: CredentialKind, fields: string[]) {
    super(
      `The secret is not a ${kind} secret: ${fields.length > 0 ? `${fields.join(', ')} missing or not a non-empty string` : 'not an object'}.`,
    );
    this.name = 'SecretShapeError';
  }
}

/** The secret as the kind's type (fields the kind does not define are dropped), or SecretShapeError. */
export function secretOfKind<K extends CredentialKind>(kind: K, value: unknown): SecretOf<K> {
  const result = SHAPES[kind].safeParse(value);
  if (!result.success)
    throw new SecretShapeError(kind, [
      ...new Set(result.error.issues.map((issue) => issue.path.join('.')).filter(Boolean)),
    ]);
  return result.data;
}
