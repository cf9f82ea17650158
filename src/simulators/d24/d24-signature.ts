import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * D24's rules, as the simulator checks them (written from the provider documents, not from the
 * product's client):
 *   Payload-Signature = lowercase hex(HMAC-SHA256(key = API Signature, message = exact body bytes))
 *   control           = UPPERCASE hex(HMAC-SHA256(key = API Signature, message = "Be4" + external_id + "Bo7"))
 * See d24-vectors.ts for fixed vectors computed with openssl.
 */
export function payloadSignature(apiSignature: string, body: Buffer): string {
  return createHmac('sha256', Buffer.from(apiSignature, 'utf8')).update(body).digest('hex');
}

export function isValidPayloadSignature(apiSignature: string, body: Buffer, header: string | undefined): boolean {
  if (!header || !/^[0-9a-f]{64}$/.test(header)) return false;
  return timingSafeEqual(Buffer.from(header, 'hex'), Buffer.from(payloadSignature(apiSignature, body), 'hex'));
}

export function notificationControl(apiSignature: string, externalId: string, prefix = 'Be4', suffix = 'Bo7'): string {
  return createHmac('sha256', Buffer.from(apiSignature, 'utf8'))
    .update(`${prefix}${externalId}${suffix}`, 'utf8')
    .digest('hex')
    .toUpperCase();
}
