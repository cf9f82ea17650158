/**
 * ConnectPay wire format and its mapping to the domain: request bodies, the answers we read
 * (checked at runtime), the status table and the error table. Pure functions only; the calls,
 * tokens, host families and signatures live in connectpay.provider.ts.
 *
 * Source: /work/shared/providers/connectpay.md (seed 003 plus ConnectPay's public guides). Only
 * RCVD among the statuses and none of the error codes are confirmed publicly: the tables say what
 * an unknown one becomes.
 */
import { z } from 'zod';
import type { AnswerContext, ProviderErrorRule, ProviderErrorTable } from '../provider-errors';
import { providerError, readAnswer, readErrorAnswer } from '../provider-errors';
import type {
  IbanBeneficiary,
  Money,
  PayoutInstruction,
  ProviderAccount,
  ProviderPayout,
  ProviderPayoutState,
  ProviderTransaction,
} from '../provider.port';
import { ProviderError } from '../provider.port';

const CONNECTPAY = 'ConnectPay';

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/** Amounts are decimal strings ("20000.00"), as on our side. */
export interface ConnectPayMoney {
  amount: string;
  currency: string;
}

export const CONNECTPAY_RAILS = ['INTERNAL', 'SEPA_SCT_INST', 'SEPA_SCT', 'SWIFT'] as const;
export type ConnectPayRail = (typeof CONNECTPAY_RAILS)[number];
/** Cheapest and fastest first: an internal transfer, then instant SEPA, then SEPA, then SWIFT. */
const RAIL_PREFERENCE: readonly ConnectPayRail[] = ['INTERNAL', 'SEPA_SCT_INST', 'SEPA_SCT', 'SWIFT'];

/** POST /ob/paymentrails. */
export interface ConnectPayPaymentRailsRequest {
  debtorAccount: { iban: string };
  creditorAccount: { iban: string };
  instructedAmount: ConnectPayMoney;
}

/** POST /ob/payments. */
export interface ConnectPayInitiatePaymentRequest {
  paymentRail: ConnectPayRail;
  debtorAccount: { iban: string };
  creditorAccount: { iban: string; bic?: string; bankName?: string };
  creditorName: string;
  creditorAddress?: { addressLine1: string; city: string; postcode?: string; countryCode: string };
  instructedAmount: ConnectPayMoney;
  remittanceInformationUnstructured: string;
  externalReference: string;
}

/** POST /merchant/payments (Merchant API v2, one-way host). */
export interface ConnectPayMerchantPaymentRequest {
  amount: Money;
  reference: string;
}

/** The beneficiary ConnectPay can pay: an IBAN. Anything else is refused before a call. */
export function ibanBeneficiary(instruction: PayoutInstruction): IbanBeneficiary {
  const beneficiary = instruction.beneficiary as IbanBeneficiary;
  if (beneficiary.type !== 'iban')
    throw new ProviderError('PAYOUT_REJECTED', 'ConnectPay pays out to IBANs (beneficiary.type iban).');
  return beneficiary;
}

export function instructedAmount(instruction: PayoutInstruction): ConnectPayMoney {
  return { amount: instruction.amount.amount, currency: instruction.amount.currency };
}

export function paymentRailsRequest(
  debtorIban: string,
  beneficiary: IbanBeneficiary,
  amount: ConnectPayMoney,
): ConnectPayPaymentRailsRequest {
  return { debtorAccount: { iban: debtorIban }, creditorAccount: { iban: beneficiary.iban }, instructedAmount: amount };
}

/** The account to pay from: the one asked for, or the first; it must have an IBAN. */
export function debtorAccount(accounts: ProviderAccount[], accountId?: string): ProviderAccount & { iban: string } {
  const account = accountId ? accounts.find((candidate) => candidate.id === accountId) : accounts[0];
  if (!account?.iban)
    throw new ProviderError(
      'PAYOUT_REJECTED',
      accountId ? `ConnectPay has no debtor account ${accountId}.` : 'ConnectPay returned no account to pay from.',
    );
  return account as ProviderAccount & { iban: string };
}

/** The preferred rail among those ConnectPay offers; an unknown rail name is never chosen. */
export function chooseRail(available: readonly string[]): ConnectPayRail {
  const rail = RAIL_PREFERENCE.find((candidate) => available.includes(candidate));
  if (!rail) throw new ProviderError('PAYOUT_REJECTED', 'ConnectPay offers no payment rail for this payment.');
  return rail;
}

export function initiatePaymentRequest(
  rail: ConnectPayRail,
  debtorIban: string,
  beneficiary: IbanBeneficiary,
  instruction: PayoutInstruction,
): ConnectPayInitiatePaymentRequest {
  // Key order is the byte order sent.
  return {
    paymentRail: rail,
    debtorAccount: { iban: debtorIban },
    creditorAccount: {
      iban: beneficiary.iban,
      ...(beneficiary.bic ? { bic: beneficiary.bic } : {}),
      ...(beneficiary.bankName ? { bankName: beneficiary.bankName } : {}),
    },
    creditorName: beneficiary.name,
    ...(beneficiary.address
      ? {
          creditorAddress: {
            addressLine1: beneficiary.address.line1,
            city: beneficiary.address.city,
            postcode: beneficiary.address.postcode,
            countryCode: beneficiary.address.country,
          },
        }
      : {}),
    instructedAmount: instructedAmount(instruction),
    remittanceInformationUnstructured: instruction.reference ?? instruction.externalId,
    externalReference: instruction.externalId,
  };
}

export function accountsQuery(): URLSearchParams {
  return new URLSearchParams({ withBalance: 'true' });
}

export function transactionsQuery(range: { from?: string; to?: string }): URLSearchParams {
  const query = new URLSearchParams({ sortOrder: 'DESC' });
  if (range.from) query.set('dateFrom', range.from);
  if (range.to) query.set('dateTo', range.to);
  return query;
}

export function merchantPaymentRequest(amount: Money, reference: string): ConnectPayMerchantPaymentRequest {
  return { amount, reference };
}

// ---------------------------------------------------------------------------------------------
// Answers we read, checked at runtime
// ---------------------------------------------------------------------------------------------

const DECIMAL = /^-?\d+(\.\d+)?$/;
const decimal = z.string().regex(DECIMAL, 'a decimal string');
const reference = z.string().min(1);
const moneySchema = z.object({ amount: decimal, currency: z.string().min(1) });

/** 200 to POST /ob/paymentrails: `{"paymentRails":["INTERNAL","SEPA_SCT"]}`. */
export const connectPayPaymentRailsSchema = z.object({ paymentRails: z.array(z.string()) });
export type ConnectPayPaymentRails = z.infer<typeof connectPayPaymentRailsSchema>;

/** 201 to POST /ob/payments: `{"paymentOrderNo":"s-630…","paymentRail":"SEPA_SCT","transactionStatus":"RCVD","transactionFees":{…}}`. */
export const connectPayPaymentInitiatedSchema = z.object({
  paymentOrderNo: reference,
  paymentRail: z.string().nullish(),
  transactionStatus: z.string().nullish(),
  transactionFees: moneySchema.nullish(),
});
export type ConnectPayPaymentInitiated = z.infer<typeof connectPayPaymentInitiatedSchema>;

/** 409 to POST /ob/payments: a payment with this externalReference exists; its number is in the answer. */
export const connectPayDuplicatePaymentSchema = z.object({ paymentOrderNo: reference, error: z.string().nullish() });
export type ConnectPayDuplicatePayment = z.infer<typeof connectPayDuplicatePaymentSchema>;

/** 200 to GET /ob/payments/{paymentOrderNo}/status. */
export const connectPayPaymentStatusSchema = z.object({
  paymentOrderNo: z.string().nullish(),
  transactionStatus: z.string().min(1),
  externalReference: z.string().nullish(),
});
export type ConnectPayPaymentStatus = z.infer<typeof connectPayPaymentStatusSchema>;

/** 200 to GET /ob/accounts?withBalance=true. */
export const connectPayAccountsSchema = z.object({
  accounts: z.array(
    z.object({
      accountId: reference,
      iban: z.string().nullish(),
      name: z.string(),
      currency: z.string().min(1),
      balances: z
        .array(z.object({ balanceType: z.string().nullish(), amount: decimal, currency: z.string().min(1) }))
        .nullish(),
    }),
  ),
});
export type ConnectPayAccounts = z.infer<typeof connectPayAccountsSchema>;

/** ISO 20022 credit/debit indicator: which way the money went matters, so nothing else is accepted. */
export const CONNECTPAY_DIRECTIONS = { CRDT: 'credit', DBIT: 'debit' } as const satisfies Record<
  string,
  ProviderTransaction['direction']
>;

/** 200 to GET /ob/accounts/{accountId}/transactions. */
export const connectPayTransactionsSchema = z.object({
  transactions: z.array(
    z.object({
      transactionId: reference,
      bookingDate: z.string().min(1),
      amount: decimal,
      currency: z.string().min(1),
      creditDebitIndicator: z.enum(['CRDT', 'DBIT']),
      remittanceInformation: z.string().nullish(),
      counterpartyIban: z.string().nullish(),
    }),
  ),
});
export type ConnectPayTransactions = z.infer<typeof connectPayTransactionsSchema>;

/** 201 to POST /merchant/payments. */
export const connectPayMerchantPaymentSchema = z
  .object({ paymentId: reference, status: z.string().min(1) })
  .passthrough();
export type ConnectPayMerchantPayment = z.infer<typeof connectPayMerchantPaymentSchema>;

/** Any 4xx: `{"error": "CODE", "message": "…"}`, or OAuth's `{"error", "error_description"}`. Read leniently. */
export const connectPayErrorBodySchema = z.object({
  error: z.string().optional().catch(undefined),
  message: z.string().optional().catch(undefined),
  error_description: z.string().optional().catch(undefined),
});
export type ConnectPayErrorBody = z.infer<typeof connectPayErrorBodySchema>;

// ---------------------------------------------------------------------------------------------
// Status table
// ---------------------------------------------------------------------------------------------

/** ISO 20022 payment statuses (connectpay.md "Outgoing payment"; PDNG is the AML review hold). */
export const CONNECTPAY_STATUSES = {
  RCVD: 'pending',
  ACTC: 'processing',
  ACSP: 'processing',
  ACSC: 'completed',
  ACCC: 'completed',
  PDNG: 'on_hold',
  RJCT: 'rejected',
  CANC: 'cancelled',
} as const satisfies Record<string, ProviderPayoutState>;

/**
 * A status not in the table (ISO 20022 has more, e.g. ACWC, ACFC, PATC; ConnectPay confirms only
 * RCVD publicly) is taken as still processing: never final, so the payout keeps being checked
 * until ConnectPay says something we know. Its own text is kept as the provider status.
 */
export const CONNECTPAY_UNKNOWN_STATUS_STATE: ProviderPayoutState = 'processing';

export function connectPayState(status: string): ProviderPayoutState {
  return Object.prototype.hasOwnProperty.call(CONNECTPAY_STATUSES, status)
    ? CONNECTPAY_STATUSES[status as keyof typeof CONNECTPAY_STATUSES]
    : CONNECTPAY_UNKNOWN_STATUS_STATE;
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
 * ConnectPay error answers → domain errors. The HTTP status decides first (authentication and
 * "not found" do not depend on the body), then the `error` code, then the rest is a refusal of the
 * request. 5xx answers never get here (the HTTP client maps them to PROVIDER_UNAVAILABLE); a 409
 * on initiate or authorise is read by the flow, not raised.
 */
export const CONNECTPAY_ERRORS = {
  byStatus: {
    401: refused('PROVIDER_AUTH_FAILED', 'refused the call'),
    403: refused('PROVIDER_AUTH_FAILED', 'refused the call'),
    404: refused('PAYOUT_NOT_FOUND', 'does not know it'),
  },
  byCode: {
    INSUFFICIENT_FUNDS: refused('INSUFFICIENT_FUNDS', 'says the debtor account does not cover it'),
  },
  otherwise: refused('PAYOUT_REJECTED', 'rejected the request'),
} as const satisfies { byStatus: ProviderErrorTable<number>; byCode: ProviderErrorTable; otherwise: ProviderErrorRule };

export function connectPayErrorRule(httpStatus: number, errorCode: string | undefined): ProviderErrorRule {
  const { byStatus, byCode, otherwise } = CONNECTPAY_ERRORS;
  if (Object.prototype.hasOwnProperty.call(byStatus, httpStatus)) return byStatus[httpStatus as keyof typeof byStatus];
  if (errorCode !== undefined && Object.prototype.hasOwnProperty.call(byCode, errorCode))
    return byCode[errorCode as keyof typeof byCode];
  return otherwise;
}

/** A 4xx answer as a domain error: the row of CONNECTPAY_ERRORS, ConnectPay's words as detail. */
export function errorFromAnswer(httpStatus: number, body: Buffer): ProviderError {
  const answer = readErrorAnswer(connectPayErrorBodySchema, body);
  const words = answer.message ?? answer.error_description;
  return providerError(CONNECTPAY, connectPayErrorRule(httpStatus, answer.error), {
    providerCode: answer.error ?? httpStatus,
    detail: `${answer.error ?? httpStatus}${words ? `: ${words}` : ''}`,
  });
}

// ---------------------------------------------------------------------------------------------
// Answers → domain
// ---------------------------------------------------------------------------------------------

const context = (operation: string, write: boolean): AnswerContext => ({ provider: CONNECTPAY, operation, write });

export function readPaymentRails(body: Buffer): string[] {
  return readAnswer(connectPayPaymentRailsSchema, body, context('paymentRails', false)).paymentRails;
}

/** The payment order ConnectPay made, and its fees when it says them. */
export function readPaymentInitiated(body: Buffer): { paymentOrderNo: string; fees?: Money } {
  const answer = readAnswer(connectPayPaymentInitiatedSchema, body, context('initiatePayment', true));
  return {
    paymentOrderNo: answer.paymentOrderNo,
    ...(answer.transactionFees
      ? { fees: { amount: answer.transactionFees.amount, currency: answer.transactionFees.currency } }
      : {}),
  };
}

/** A 409 to initiate: initiated before (our externalReference); the flow continues with that payment. */
export function readDuplicatePayment(body: Buffer): string {
  return readAnswer(connectPayDuplicatePaymentSchema, body, context('initiatePayment', true)).paymentOrderNo;
}

/** The status of a payment order. */
export function readPaymentStatus(body: Buffer, paymentOrderNo: string): ProviderPayout {
  const { transactionStatus } = readAnswer(connectPayPaymentStatusSchema, body, context('paymentStatus', false));
  return {
    providerReference: paymentOrderNo,
    state: connectPayState(transactionStatus),
    providerStatus: transactionStatus,
  };
}

export function readAccounts(body: Buffer): ProviderAccount[] {
  return readAnswer(connectPayAccountsSchema, body, context('accounts', false)).accounts.map((account) => ({
    id: account.accountId,
    name: account.name,
    ...(account.iban ? { iban: account.iban } : {}),
    currency: account.currency,
    ...(account.balances?.[0]
      ? { balance: { amount: account.balances[0].amount, currency: account.balances[0].currency } }
      : {}),
  }));
}

export function readTransactions(body: Buffer): ProviderTransaction[] {
  return readAnswer(connectPayTransactionsSchema, body, context('transactions', false)).transactions.map((t) => ({
    id: t.transactionId,
    bookedAt: t.bookingDate,
    amount: { amount: t.amount, currency: t.currency },
    direction: CONNECTPAY_DIRECTIONS[t.creditDebitIndicator],
    description: t.remittanceInformation ?? '',
    ...(t.counterpartyIban ? { counterpartyIban: t.counterpartyIban } : {}),
  }));
}

export function readMerchantPayment(body: Buffer): ConnectPayMerchantPayment {
  return readAnswer(connectPayMerchantPaymentSchema, body, context('merchantCreatePayment', true));
}

// ---------------------------------------------------------------------------------------------
// OAuth token (POST /auth/v1/oauth2/token, form body; the exchange itself is in connectpay.oauth.ts)
// ---------------------------------------------------------------------------------------------

/**
 * 200 to the token call (connectpay.md "Authentication"): `{"token_type":"Bearer","access_token",
 * "refresh_token","expires_in":3600,"scope":"…","refresh_token_expires_in":"2592000"}`.
 */
export const connectPayTokenSchema = z.object({
  token_type: z.string(),
  access_token: z.string().min(1),
  refresh_token: z.string().min(1),
  expires_in: z.number().positive(),
  scope: z.string(),
  refresh_token_expires_in: z.union([z.number().nonnegative(), z.string().regex(/^\d+$/, 'a number of seconds')]),
});
export type ConnectPayTokenAnswer = z.infer<typeof connectPayTokenSchema>;

/**
 * Token call error answers → domain errors. A 401 is our DevApp client credentials; an
 * `invalid_grant` is an auth code or refresh token ConnectPay no longer accepts (a person must
 * authorize again); anything else is a refusal of our authentication.
 */
export const CONNECTPAY_TOKEN_ERRORS = {
  byStatus: {
    401: refused('PROVIDER_AUTH_FAILED', 'refused the DevApp client credentials (ClientKey/ClientSecret)'),
  },
  byCode: {
    invalid_grant: refused(
      'OAUTH_AUTHORIZATION_REQUIRED',
      'refused the authorization: generate a new auth code in Online Banking and authorize again',
    ),
  },
  otherwise: refused('PROVIDER_AUTH_FAILED', 'refused the token request'),
} as const satisfies { byStatus: ProviderErrorTable<number>; byCode: ProviderErrorTable; otherwise: ProviderErrorRule };

export function connectPayTokenErrorRule(httpStatus: number, errorCode: string | undefined): ProviderErrorRule {
  const { byStatus, byCode, otherwise } = CONNECTPAY_TOKEN_ERRORS;
  if (Object.prototype.hasOwnProperty.call(byStatus, httpStatus)) return byStatus[httpStatus as keyof typeof byStatus];
  if (errorCode !== undefined && Object.prototype.hasOwnProperty.call(byCode, errorCode))
    return byCode[errorCode as keyof typeof byCode];
  return otherwise;
}

export function tokenErrorFromAnswer(httpStatus: number, body: Buffer): ProviderError {
  const answer = readErrorAnswer(connectPayErrorBodySchema, body);
  const rule = connectPayTokenErrorRule(httpStatus, answer.error);
  const words = answer.error_description ?? answer.message;
  return providerError(CONNECTPAY, rule, {
    providerCode: answer.error ?? httpStatus,
    detail:
      rule === CONNECTPAY_TOKEN_ERRORS.byStatus[401]
        ? undefined
        : `${answer.error ?? httpStatus}${words ? `: ${words}` : ''}`,
  });
}

/**
 * The token answer. Not a write for a payout's sake: a token that cannot be read means nothing
 * was sent to the payments API, so a payout waiting on it is not of unknown outcome.
 */
export function readTokenAnswer(body: Buffer): ConnectPayTokenAnswer {
  return readAnswer(connectPayTokenSchema, body, context('oauth-token', false));
}

// ---------------------------------------------------------------------------------------------
// Webhooks (ConnectPay → us): no signature; the provider checks the secret token header first
// ---------------------------------------------------------------------------------------------

/** The webhook body fields we use. */
export interface ConnectPayWebhookBody {
  paymentOrderNo?: string;
  externalReference?: string;
  transactionStatus?: string;
}

/** The body of a webhook whose token verified; null when it is not a JSON object. */
export function readWebhookBody(rawBody: Buffer): ConnectPayWebhookBody | null {
  let body: unknown;
  try {
    body = JSON.parse(rawBody.toString('utf8'));
  } catch {
    return null;
  }
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? body : null;
}

/** What a verified webhook tells us; the delivery id dedupes repeats of the same status change. */
export function webhookNotice(
  body: ConnectPayWebhookBody,
  timestamp: string | string[] | undefined,
): { providerReference?: string; externalId?: string; deliveryId: string } {
  return {
    providerReference: body.paymentOrderNo,
    externalId: body.externalReference,
    deliveryId: `${body.paymentOrderNo ?? ''}:${body.transactionStatus ?? ''}:${typeof timestamp === 'string' ? timestamp : ''}`,
  };
}
