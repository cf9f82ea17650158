import { createPublicKey, verify } from 'node:crypto';

/**
 * Merchant API v2 X-Signature, as the simulator checks it (provider notes, connectpay.md): an
 * RSA (PKCS#1 v1.5) signature over SHA-256 of the UTF-8 string
 *   lower(method) + separator + lower(host + path) + separator + body-with-all-whitespace-removed
 * in base64. The separator is UNCONFIRMED by public material: empty by default, configurable.
 */
export function signedString(method: string, hostAndPath: string, body: string, separator = ''): string {
  return [method.toLowerCase(), hostAndPath.toLowerCase(), body.replace(/\s+/g, '')].join(separator);
}

export function isValidXSignature(publicKeyPems: string[], message: string, signature: string | undefined): boolean {
  if (!signature || !/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return false;
  const bytes = Buffer.from(signature, 'base64');
  return publicKeyPems.some((pem) => {
    try {
      return verify('sha256', Buffer.from(message, 'utf8'), createPublicKey(pem), bytes);
    } catch {
      return false;
    }
  });
}
