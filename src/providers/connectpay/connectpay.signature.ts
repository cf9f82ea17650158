import { createPrivateKey, sign } from 'node:crypto';

/**
 * The product's Merchant API v2 X-Signature (from the provider notes): RSA PKCS#1 v1.5 over
 * SHA-256 of lower(method) + separator + lower(host + path) + separator + body without any
 * whitespace, base64. The separator is UNCONFIRMED: configuration, empty by default.
 */
export function merchantSignature(
  privateKeyPem: string,
  method: string,
  url: string,
  body: string,
  separator: string,
): string {
  const target = new URL(url);
  const message = [
    method.toLowerCase(),
    `${target.host}${target.pathname}${target.search}`.toLowerCase(),
    body.replace(/\s+/g, ''),
  ].join(separator);
  return sign('sha256', Buffer.from(message, 'utf8'), createPrivateKey(privateKeyPem)).toString('base64');
}
