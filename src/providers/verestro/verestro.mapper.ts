/**
 * Verestro payouts-to-cards wire format and its mapping to the domain: the send-money request,
 * the answers we read (checked at runtime), the status table and the error table. Pure functions
 * only; mTLS and Basic authorization live in verestro.provider.ts.
 *
 * Source: /work/shared/providers/verestro.md (seed 000 plus Verestro's public developer pages).
 * Payload shapes and the error body format are UNCONFIRMED publicly: this file is where they
 * change when the contract documentation arrives.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { AnswerContext, ProviderErrorRule, ProviderErrorTable } from '../provider-errors';
import { providerError, readAnswer } from '../provider-errors';
import type { CardBeneficiary, PayoutInstruction, ProviderPayout, ProviderPayoutState } from '../provider.port';
import { ProviderError } from '../provider.port';

const VERESTRO = 'Verestro';

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/** POST /api/v2/client/send-money. Verestro deduplicates by externalId. */
export interface VerestroSendMoneyRequest {
  amount: string;
  currency: string;
  recipient: { cardToken: string };
  externalId: string;
  description?: string;
}

export const SEND_MONEY_PATH = '/api/v2/client/send-money';

export function sendMoneyRequest(instruction: PayoutInstruction): VerestroSendMoneyRequest {
  const card = instruction.beneficiary as CardBeneficiary;
  if (card.type !== 'card')
    throw new ProviderError('PAYOUT_REJECTED', 'Verestro pays out to cards (beneficiary.type card).');
  // Key order is the byte order sent.
  return {
    amount: instruction.amount.amount,
    currency: instruction.amount.currency,
    recipient: { cardToken: card.cardToken },
    externalId: instruction.externalId,
    description: instruction.reference,
  };
}

/** GET /api/v2/client/send-money/{orderId}. */
export function orderPath(orderId: string): string {
  return `${SEND_MONEY_PATH}/${encodeURIComponent(orderId)}`;
}

// ---------------------------------------------------------------------------------------------
// Answers we read, checked at runtime
// ---------------------------------------------------------------------------------------------

/** 201 to send-money and 200 to the order lookup: the order id and its status (more fields may follow). */
export const verestroOrderSchema = z.object({
  orderId: z.string().min(1),
  status: z.string().min(1),
  externalId: z.string().nullish(),
});
export type VerestroOrder = z.infer<typeof verestroOrderSchema>;

/** 409 to send-money: this externalId was sent before; the answer names that order. */
export const verestroDuplicateOrderSchema = z.object({
  orderId: z.string().min(1),
  error: z.string().nullish(),
  status: z.string().nullish(),
});
export type VerestroDuplicateOrder = z.infer<typeof verestroDuplicateOrderSchema>;

// ---------------------------------------------------------------------------------------------
// Status table
// ---------------------------------------------------------------------------------------------

/** Order statuses in the domain's words (UNCONFIRMED publicly; the ones the integration knows). */
export const VERESTRO_STATUSES = {
  PENDING: 'pending',
  PROCESSING: 'processing',
  COMPLETED: 'completed',
  FAILED: 'failed',
  REJECTED: 'rejected',
} as const satisfies Record<string, ProviderPayoutState>;

/**
 * A status not in the table is taken as still processing: never final, so the order keeps being
 * checked until Verestro says something we know. Its own text is kept as the provider status.
 */
export const VERESTRO_UNKNOWN_STATUS_STATE: ProviderPayoutState = 'processing';

export function verestroState(status: string): ProviderPayoutState {
  return Object.prototype.hasOwnProperty.call(VERESTRO_STATUSES, status)
    ? VERESTRO_STATUSES[status as keyof typeof VERESTRO_STATUSES]
    : VERESTRO_UNKNOWN_STATUS_STATE;
}

// ---------------------------------------------------------------------------------------------
// Error table
// ---------------------------------------------------------------------------------------------

const refused = (code: ProviderErrorRule['code'], meaning: string): ProviderErrorRule => ({
  code,
  meaning,
  retryable: false,
  outcomeUnknown: false,
});

/**
 * Verestro error answers → domain errors, by HTTP status (the error body format is not public).
 * 5xx answers never get here (the HTTP client maps them to PROVIDER_UNAVAILABLE); a 409 to
 * send-money is read by the flow (the order exists), not raised.
 */
export const VERESTRO_ERRORS = {
  byStatus: {
    401: refused('PROVIDER_AUTH_FAILED', 'refused the Basic authorization'),
    403: refused('PROVIDER_AUTH_FAILED', 'refused the Basic authorization'),
    404: refused('PAYOUT_NOT_FOUND', 'does not know this order'),
  },
  otherwise: refused('PAYOUT_REJECTED', 'rejected the payout'),
} as const satisfies { byStatus: ProviderErrorTable<number>; otherwise: ProviderErrorRule };

export function verestroErrorRule(httpStatus: number): ProviderErrorRule {
  const { byStatus, otherwise } = VERESTRO_ERRORS;
  return Object.prototype.hasOwnProperty.call(byStatus, httpStatus)
    ? byStatus[httpStatus as keyof typeof byStatus]
    : otherwise;
}

/**
 * A 4xx answer as a domain error. The body's format is not known, so for a refusal its first
 * 200 characters are kept as the detail; for authentication and not-found, the status says it all.
 */
export function errorFromAnswer(httpStatus: number, body: Buffer): ProviderError {
  const rule = verestroErrorRule(httpStatus);
  const detail =
    rule === VERESTRO_ERRORS.otherwise ? `${httpStatus}: ${body.toString('utf8').slice(0, 200)}` : String(httpStatus);
  return providerError(VERESTRO, rule, { providerCode: httpStatus, detail });
}

// ---------------------------------------------------------------------------------------------
// Answers → domain
// ---------------------------------------------------------------------------------------------

const context = (operation: string, write: boolean): AnswerContext => ({ provider: VERESTRO, operation, write });

export function toProviderPayout(order: VerestroOrder): ProviderPayout {
  return { providerReference: order.orderId, state: verestroState(order.status), providerStatus: order.status };
}

/** The answer to send-money: the order Verestro made. */
export function readSendMoney(body: Buffer): ProviderPayout {
  return toProviderPayout(readAnswer(verestroOrderSchema, body, context('send-money', true)));
}

/** A 409 to send-money: the order made before for this externalId. */
export function readDuplicateOrder(body: Buffer): string {
  return readAnswer(verestroDuplicateOrderSchema, body, context('send-money', true)).orderId;
}

/** The answer to the order lookup. */
export function readOrder(body: Buffer): ProviderPayout {
  return toProviderPayout(readAnswer(verestroOrderSchema, body, context('order-status', false)));
}

// ---------------------------------------------------------------------------------------------
// Callbacks (Verestro → us, over reverse mTLS): the body and the optional X-Idempotency-Key
// ---------------------------------------------------------------------------------------------

/** The callback fields we use. */
export interface VerestroCallback {
  orderId: string;
  externalId?: string;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** An order or payout reference as Verestro sends it: a short printable string. */
export function isReference(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 200 && !CONTROL.test(value);
}

/**
 * Anything but an object with a plain string orderId is malformed (JSON null, arrays, numbers,
 * NUL characters PostgreSQL cannot store): refused here, not failing later in a query.
 */
export function readCallback(rawBody: Buffer): VerestroCallback | null {
  let body: unknown;
  try {
    body = JSON.parse(rawBody.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const { orderId, externalId } = body as Record<string, unknown>;
  if (!isReference(orderId)) return null;
  return { orderId, externalId: isReference(externalId) ? externalId : undefined };
}

/** Without a key, a delivery is one exact body: a hash of all of it, not of a prefix every callback shares. */
export function callbackDeliveryId(
  orderId: string,
  idempotencyKey: string | string[] | undefined,
  rawBody: Buffer,
): string {
  return typeof idempotencyKey === 'string' && idempotencyKey
    ? idempotencyKey
    : `${orderId}:${createHash('sha256').update(rawBody).digest('base64url')}`;
}
