import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The product's D24 signing (written from the provider notes, independently of the simulator):
 * Payload-Signature is the lowercase hex HMAC-SHA256 of the exact UTF-8 body bytes sent, keyed
 * with the API Signature. An empty body signs the empty string.
 */
export function signD24Payload(apiSignature: string, body: Buffer): string {
  return createHmac('sha256', apiSignature).update(body).digest('hex');
}

/** Notification `control`: uppercase hex HMAC-SHA256 of prefix + external_id + suffix ("Be4", "Bo7"). */
export function d24Control(apiSignature: string, externalId: string, prefix: string, suffix: string): string {
  return createHmac('sha256', apiSignature)
    .update(prefix + externalId + suffix, 'utf8')
    .digest('hex')
    .toUpperCase();
}

export function controlMatches(expected: string, received: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(received, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
