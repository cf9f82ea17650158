/**
 * D24 Cashouts v3 wire format and its mapping to the domain: request bodies, the answers we read
 * (checked at runtime), the status table and the error table. Pure functions only; the calls,
 * signing and credentials live in d24.provider.ts.
 *
 * Sources: /work/shared/providers/d24-cashouts.md (gathered from seed 004 and D24's public
 * cashout documentation) and D24's public "API Codes" page for the Cashouts API
 * (docs.d24.com/api-documentation/cashouts-api/api-codes, same table on docs.directa24.com).
 */
import { compactNumber, documentTypeOf } from '../../beneficiaries/domain/latam-documents';
import { d24RequiresDocumentType } from './d24.country-rules';
import { z } from 'zod';
import type { AnswerContext, ProviderErrorRule, ProviderErrorTable } from '../provider-errors';
import { protocolError, providerError, readAnswer, readErrorAnswer, token } from '../provider-errors';
import type { LatamBankBeneficiary, PayoutInstruction, ProviderPayout, ProviderPayoutState } from '../provider.port';
import { ProviderError } from '../provider.port';

const D24 = 'D24';

// ---------------------------------------------------------------------------------------------
// Requests (every body also carries `login` and `pass`, added by the provider with the keys)
// ---------------------------------------------------------------------------------------------

/** The merchant credentials D24 reads from every JSON body. */
export interface D24Credentials {
  login: string;
  pass: string;
}

/** POST /v3/cashout. `amount` is a JSON number, written from the decimal string (see cashoutBody). */
export interface D24CashoutRequest extends D24Credentials {
  external_id: string;
  country: string;
  currency: string;
  amount: number;
  document_id: string;
  document_type?: string;
  beneficiary_name: string;
  beneficiary_lastname?: string;
  email?: string;
  phone?: string;
  bank_code?: number;
  bank_account?: string;
  bank_branch?: string;
  account_type?: string;
  address?: string;
  city?: string;
  postal_code?: string;
  /** UNCONFIRMED format: sent as YYYY-MM-DD (ISO 8601), as we accept it. */
  beneficiary_birthdate?: string;
  notification_url?: string;
  comments?: string;
  /** Created ON_HOLD: D24 does not process it until it is set back to PENDING. */
  on_hold?: boolean;
  type: 'json';
}

/** POST /v3/cashout/status: by D24's id when we have it, otherwise by ours. */
export type D24StatusRequest = { cashout_id: number } | { external_id: string };

/** DELETE /v3/cashout/cancel. */
export interface D24CancelRequest {
  cashout_id?: number;
  external_id: string;
}

/** PUT /v3/cashout/status: hold (ON_HOLD) or release (PENDING), by cashout_id only. */
export interface D24SetStatusRequest {
  cashout_id: number;
  status: 'ON_HOLD' | 'PENDING';
}

/** A payout as the port names it. */
export interface D24Reference {
  externalId: string;
  providerReference?: string;
}

export function statusRequest(reference: D24Reference): D24StatusRequest {
  return reference.providerReference
    ? { cashout_id: Number(reference.providerReference) }
    : { external_id: reference.externalId };
}

export function cancelRequest(reference: D24Reference): D24CancelRequest {
  return {
    ...(reference.providerReference ? { cashout_id: Number(reference.providerReference) } : {}),
    external_id: reference.externalId,
  };
}

export function setStatusRequest(cashoutId: string, status: D24SetStatusRequest['status']): D24SetStatusRequest {
  return { cashout_id: Number(cashoutId), status };
}

/** GET /v3/banks?country=XX (no body; the empty string is what is signed). */
export function banksPath(country: string): string {
  return `/v3/banks?country=${encodeURIComponent(country)}`;
}

const DECIMAL = /^\d{1,13}(\.\d{1,2})?$/;
const AMOUNT_MARK = '"__D24_AMOUNT__"';

/**
 * The create body, serialised once. D24 wants `amount` as a JSON number: it is written from the
 * decimal string directly, so no float ever touches it.
 */
export function cashoutBody(login: string, pass: string, instruction: PayoutInstruction): string {
  const beneficiary = instruction.beneficiary as LatamBankBeneficiary;
  if (beneficiary.type !== 'latam_bank_account') {
    throw new ProviderError(
      'PAYOUT_REJECTED',
      'D24 pays out to Latin American bank accounts only (beneficiary.type latam_bank_account).',
    );
  }
  if (!DECIMAL.test(instruction.amount.amount)) {
    throw new ProviderError(
      'PAYOUT_REJECTED',
      `D24 amounts have at most 2 decimals; got ${instruction.amount.amount}.`,
    );
  }
  // Key order is the byte order that is signed and sent.
  const fields: Omit<D24CashoutRequest, 'amount'> & { amount: typeof AMOUNT_MARK } = {
    login,
    pass,
    external_id: instruction.externalId,
    country: beneficiary.country,
    currency: instruction.amount.currency,
    amount: AMOUNT_MARK,
    // Numbers go bare: D24's formats are digits (a Brazilian conta may end in X), and separators
    // that the rules here allow for readability would make D24 refuse them.
    document_id: compactNumber(beneficiary.documentId),
    // Where D24 requires document_type, the type the number was validated as is sent when the client left it out.
    document_type:
      beneficiary.documentType ??
      (d24RequiresDocumentType(beneficiary.country)
        ? documentTypeOf(beneficiary.country, beneficiary.documentId)
        : undefined),
    beneficiary_name: beneficiary.name,
    beneficiary_lastname: beneficiary.lastName,
    email: beneficiary.email,
    phone: beneficiary.phone,
    bank_code: beneficiary.bankCode,
    bank_account: beneficiary.bankAccount === undefined ? undefined : compactNumber(beneficiary.bankAccount),
    bank_branch: beneficiary.bankBranch === undefined ? undefined : compactNumber(beneficiary.bankBranch),
    account_type: beneficiary.accountType,
    address: beneficiary.address,
    city: beneficiary.city,
    postal_code: beneficiary.postalCode,
    beneficiary_birthdate: beneficiary.birthdate,
    notification_url: instruction.notificationUrl,
    comments: instruction.reference,
    // At creation, not by a later PUT /v3/cashout/status: that one can race D24's processing.
    on_hold: instruction.onHold ? true : undefined,
    type: 'json',
  };
  return JSON.stringify(fields).replace(JSON.stringify(AMOUNT_MARK), instruction.amount.amount);
}

// ---------------------------------------------------------------------------------------------
// Answers we read, checked at runtime
// ---------------------------------------------------------------------------------------------

/** 200 to POST /v3/cashout: `{"cashout_id": "8405147"}` (a number in some copies of the docs). */
export const d24CashoutCreatedSchema = z.object({
  cashout_id: z.union([z.string().regex(/^\d{1,20}$/, 'a cashout id of digits'), z.number().int().nonnegative()]),
});
export type D24CashoutCreated = z.infer<typeof d24CashoutCreatedSchema>;

/** 200 to status, cancel, hold and release: `{"cashout_status":1,"cashout_status_description":"Completed"}`. */
export const d24CashoutStatusSchema = z.object({
  cashout_status: z.number().int(),
  cashout_status_description: z.string().nullish(),
  /** 800–826 when the bank rejected it. */
  rejection_code: z.union([z.number().int(), z.string()]).nullish(),
  rejection_reason: z.string().nullish(),
});
export type D24CashoutStatus = z.infer<typeof d24CashoutStatusSchema>;
/** Kept for callers of the earlier name. */
export type D24StatusBody = D24CashoutStatus;

/** 200 to GET /v3/banks: `[{"code": 1, "name": "..."}]`. */
export const d24BanksSchema = z.array(z.object({ code: z.number().int(), name: z.string() }));
export type D24Bank = z.infer<typeof d24BanksSchema>[number];

/** Any 4xx: `{"code": int, "message": string, "reason"?: string, "reason_code"?: int}`. Read leniently. */
export const d24ErrorBodySchema = z.object({
  code: z.union([z.number(), z.string()]).optional().catch(undefined),
  message: z.string().optional().catch(undefined),
  reason: z.string().optional().catch(undefined),
  reason_code: z.union([z.number(), z.string()]).optional().catch(undefined),
});
export type D24ErrorBody = z.infer<typeof d24ErrorBodySchema>;

// ---------------------------------------------------------------------------------------------
// Status table
// ---------------------------------------------------------------------------------------------

/**
 * D24 cashout statuses 0–5 (d24-cashouts.md "Statuses"; D24 API Codes, "Cashout Status Codes")
 * in the domain's words. DELIVERED means the bank has it: processing. The documented set is
 * closed, so any other value is a protocol error (see toProviderPayout), never a guess.
 */
export const D24_STATUSES = {
  0: { state: 'pending', name: 'PENDING' },
  1: { state: 'completed', name: 'COMPLETED' },
  2: { state: 'cancelled', name: 'CANCELLED' },
  3: { state: 'rejected', name: 'REJECTED' },
  4: { state: 'processing', name: 'DELIVERED' },
  5: { state: 'on_hold', name: 'ON_HOLD' },
} as const satisfies Record<number, { state: ProviderPayoutState; name: string }>;

export type D24StatusCode = keyof typeof D24_STATUSES;

function isD24Status(status: number): status is D24StatusCode {
  return Object.prototype.hasOwnProperty.call(D24_STATUSES, status);
}

// ---------------------------------------------------------------------------------------------
// Error table
// ---------------------------------------------------------------------------------------------

const refused = (
  code: ProviderErrorRule['code'],
  meaning: string,
  why?: { reason: string; fix: string },
): ProviderErrorRule => ({
  code,
  meaning,
  retryable: false,
  outcomeUnknown: false,
  ...why,
});

/**
 * Every documented D24 cashout error code ("Cashout Internal Error Codes" on D24's API Codes page;
 * the 16 of them in d24-cashouts.md are the ones the simulator answers). An error answer is a
 * definite refusal: nothing was done, so none is retryable or of unknown outcome. 5xx answers never
 * get here (the HTTP client maps them to PROVIDER_UNAVAILABLE).
 *
 * `reason` is the stable name a caller branches on (the payout's failure code, the error's
 * `details.reason`); `fix` is the sentence an operator acts on. Codes whose domain code already
 * says everything (509 not found, 511 already exists, 510 not pending) carry neither.
 */
export const D24_ERRORS = {
  300: refused('PAYOUT_REJECTED', 'refused the request parameters', {
    reason: 'INVALID_PARAMETERS',
    fix: "Correct the field D24 names against the beneficiary country's rules (document, bank, account) and send a new payout.",
  }),
  302: refused('PROVIDER_AUTH_FAILED', 'refused our authentication: signature', {
    reason: 'SIGNATURE_INVALID',
    fix: 'Store the secret key D24 issued for this environment (it signs Payload-Signature) and run the provider doctor.',
  }),
  303: refused('PAYOUT_REJECTED', 'does not know this bank code', {
    reason: 'BANK_CODE_UNKNOWN',
    fix: "Take bank_code from GET /v1/providers/d24/banks?country= for the beneficiary's country.",
  }),
  401: refused('PROVIDER_AUTH_FAILED', 'refused our authentication: credentials', {
    reason: 'CREDENTIALS_INVALID',
    fix: 'Store the API Key and Passphrase of this environment (sandbox and production keys differ) and run the provider doctor.',
  }),
  402: refused('PROVIDER_AUTH_FAILED', 'refused our authentication: source IP not whitelisted', {
    reason: 'SOURCE_IP_NOT_ALLOWED',
    fix: "Ask D24 to allow-list this service's egress address for this environment; the provider doctor shows it.",
  }),
  502: refused('PAYOUT_REJECTED', 'could not read the request body', {
    reason: 'BODY_UNREADABLE',
    fix: 'Our request was malformed: report it with the payout id; sending the same payout again will not help.',
  }),
  503: refused('PAYOUT_REJECTED', 'refused it: regulatory limits on the beneficiary account', {
    reason: 'BENEFICIARY_REGULATORY_LIMIT',
    fix: 'Pay a smaller amount, pay later, or pay another account of the beneficiary.',
  }),
  504: refused('PAYOUT_REJECTED', 'refused it: beneficiary not authorised (KYC)', {
    reason: 'BENEFICIARY_NOT_AUTHORISED',
    fix: "Check the beneficiary's document (document_id, document_type) and its standing with the country's registry; D24's reason_code says which check failed.",
  }),
  508: refused('PAYOUT_REJECTED', 'refused it: a limit is exceeded', {
    reason: 'LIMIT_EXCEEDED',
    fix: 'Split the amount or wait for the limit period to pass, or ask D24 to raise the limit.',
  }),
  509: refused('PAYOUT_NOT_FOUND', 'does not know this cashout'),
  510: refused('INVALID_TRANSITION', 'refused the status change'),
  511: refused('PAYOUT_ALREADY_EXISTS', 'already has this external_id'),
  514: refused('INSUFFICIENT_FUNDS', 'balance does not cover this cashout', {
    reason: 'INSUFFICIENT_FUNDS',
    fix: 'Fund the D24 balance of this environment, then send a new payout.',
  }),
  515: refused('PAYOUT_REJECTED', 'refused it: beneficiary blacklisted, blocked or suspended', {
    reason: 'BENEFICIARY_BLOCKED',
    fix: 'Do not retry: ask D24 support why the beneficiary is blocked.',
  }),
  518: refused('PAYOUT_REJECTED', 'does not pay out to this country', {
    reason: 'COUNTRY_NOT_AVAILABLE',
    fix: 'Ask D24 to enable cashouts to this country for your account, or pay through another provider.',
  }),
  519: refused('PROVIDER_AUTH_FAILED', 'has not enabled this merchant for cashouts', {
    reason: 'MERCHANT_NOT_ENABLED',
    fix: 'Ask D24 to enable cashouts for this merchant account.',
  }),
  524: refused('PROVIDER_AUTH_FAILED', 'refused our authentication: credentials not valid for cashouts', {
    reason: 'CREDENTIALS_NOT_FOR_CASHOUTS',
    fix: "Store the Cashouts API Key and Passphrase from D24's Merchant Panel, not another API's keys.",
  }),
  525: refused('PAYOUT_REJECTED', 'refused it: closed-loop rule', {
    reason: 'CLOSED_LOOP_REJECTION',
    fix: 'Pay the beneficiary back to the account they paid in from, as D24 requires for this merchant.',
  }),
  526: refused('PAYOUT_REJECTED', 'does not pay out in this currency', {
    reason: 'CURRENCY_NOT_AVAILABLE',
    fix: "Pay in the beneficiary country's currency (BRL for BR, MXN for MX, …) or one D24 enabled for you.",
  }),
  533: refused('PAYOUT_REJECTED', 'refused it: amount below the minimum', {
    reason: 'AMOUNT_BELOW_MINIMUM',
    fix: "Raise the amount to at least D24's minimum for this country and currency.",
  }),
  537: refused('PAYOUT_REJECTED', 'could not make the cashout', {
    reason: 'CASHOUT_NOT_MADE',
    fix: 'Send a new payout later; if it persists, contact D24 with the payout id.',
  }),
  538: refused('PAYOUT_REJECTED', 'refused it: beneficiary account blacklisted', {
    reason: 'ACCOUNT_BLOCKED',
    fix: 'Ask the beneficiary for another bank account.',
  }),
  539: refused('PAYOUT_REJECTED', 'refused it: payout method unavailable for this country or bank', {
    reason: 'PAYOUT_METHOD_UNAVAILABLE',
    fix: 'Pay to another bank or payout method, or try again later.',
  }),
  540: refused('PAYOUT_REJECTED', 'refused it: beneficiary email or phone is required', {
    reason: 'BENEFICIARY_CONTACT_REQUIRED',
    fix: "Add the beneficiary's email or phone.",
  }),
  541: refused('PAYOUT_REJECTED', 'refused it: email used by another beneficiary', {
    reason: 'EMAIL_IN_USE',
    fix: "Send the beneficiary's own email; D24 has this one on another beneficiary.",
  }),
  542: refused('PAYOUT_REJECTED', 'refused it: phone used by another beneficiary', {
    reason: 'PHONE_IN_USE',
    fix: "Send the beneficiary's own phone; D24 has this one on another beneficiary.",
  }),
  543: refused('PAYOUT_REJECTED', 'refused it: phone number not valid', {
    reason: 'PHONE_INVALID',
    fix: 'Send the phone with its country code, digits only (e.g. 5511987654321).',
  }),
  702: refused('INVALID_TRANSITION', 'could not cancel the cashout', {
    reason: 'CANCEL_TOO_LATE',
    fix: 'It is already with the bank; wait for its final status instead.',
  }),
  703: refused('PAYOUT_REJECTED', 'could not make the cashout', {
    reason: 'CASHOUT_NOT_MADE',
    fix: 'Send a new payout later; if it persists, contact D24 with the payout id.',
  }),
} as const satisfies ProviderErrorTable<number>;

export type D24ErrorCode = keyof typeof D24_ERRORS;

/** A code D24 does not document (or an error body without one): still a refusal of this request. */
export const D24_UNLISTED_ERROR: ProviderErrorRule = refused('PAYOUT_REJECTED', 'rejected the request');

export function d24ErrorRule(code: number): ProviderErrorRule {
  return Object.prototype.hasOwnProperty.call(D24_ERRORS, code) ? D24_ERRORS[code as D24ErrorCode] : D24_UNLISTED_ERROR;
}

/** A 4xx answer as a domain error: the row of D24_ERRORS for its `code`, D24's words as detail. */
export function toProviderError(httpStatus: number, body: D24ErrorBody): ProviderError {
  const code = Number(body.code);
  const known = body.code !== undefined && body.code !== '' && Number.isFinite(code);
  const providerCode = known ? code : httpStatus;
  const words = [body.message, body.reason].filter(Boolean).join(': ') || `HTTP ${httpStatus}`;
  // 504 (KYC) says which check failed in reason_code; it is D24's number, shown as such.
  const reasonCode =
    body.reason_code !== undefined && body.reason_code !== '' ? ` reason_code ${token(body.reason_code)}` : '';
  return providerError(D24, known ? d24ErrorRule(code) : D24_UNLISTED_ERROR, {
    providerCode,
    detail: `${providerCode} ${words}${reasonCode}`,
  });
}

/**
 * A 4xx answer to `operation`, as a domain error. D24 documents a numeric `code` in every error
 * answer; one without it is malformed, and after a write it is not even a refusal we can trust
 * (D24 answers "already exists", 511, with a 400 too), so the outcome is unknown.
 */
export function errorFromAnswer(httpStatus: number, body: Buffer, operation: string): ProviderError {
  const answer = readErrorAnswer(d24ErrorBodySchema, body);
  const code = typeof answer.code === 'string' && answer.code.trim() !== '' ? Number(answer.code) : answer.code;
  if (typeof code !== 'number' || !Number.isInteger(code)) {
    return protocolError(context(operation), `the HTTP ${httpStatus} error answer has no numeric code`);
  }
  return toProviderError(httpStatus, answer);
}

// ---------------------------------------------------------------------------------------------
// Bank rejections (status 3, REJECTED): rejection_code 800–826
// ---------------------------------------------------------------------------------------------

interface D24Rejection {
  /** D24's own name, as it sends it in rejection_reason. */
  name: string;
  /** The stable code the payout fails with. */
  code: string;
  /** What the bank said, in our words. */
  meaning: string;
  /** What to do next. */
  fix: string;
}

/**
 * The rejection codes d24-cashouts.md names (from D24's API Codes page, "Cashout Rejection
 * Codes"). The range runs to 826; a code not listed here keeps D24's own name in the message and
 * fails as BANK_REJECTED rather than being guessed at.
 */
export const D24_REJECTIONS: Readonly<Record<number, D24Rejection>> = {
  800: {
    name: 'ERROR_ACCOUNT_INCORRECT',
    code: 'ACCOUNT_INCORRECT',
    meaning: 'the bank account details are wrong',
    fix: 'Check bank_account, bank_branch and account_type with the beneficiary, then send a new payout.',
  },
  801: {
    name: 'ERROR_ACCOUNT_CLOSED',
    code: 'ACCOUNT_CLOSED',
    meaning: 'the bank account is closed',
    fix: 'Ask the beneficiary for an open account, then send a new payout.',
  },
  803: {
    name: 'ERROR_BANK_INVALID',
    code: 'BANK_INVALID',
    meaning: 'the bank is not valid for this account',
    fix: 'Check bank_code against GET /v1/providers/d24/banks for the country, then send a new payout.',
  },
  807: {
    name: 'ERROR_REJECTED_BY_BANK',
    code: 'REJECTED_BY_BANK',
    meaning: 'the bank refused it without saying why',
    fix: 'Ask the beneficiary to check the account with their bank, or pay another account.',
  },
  808: {
    name: 'ERROR_OTHER',
    code: 'BANK_REJECTED_OTHER',
    meaning: 'the bank rejected it for an unlisted reason',
    fix: 'Contact D24 support with the payout id before paying again.',
  },
  809: {
    name: 'WITHDRAWAL_EXPIRED',
    code: 'PAYOUT_EXPIRED',
    meaning: 'the payout expired before the bank took it',
    fix: 'Send a new payout.',
  },
  810: {
    name: 'LIMIT_EXCEEDED',
    code: 'BANK_LIMIT_EXCEEDED',
    meaning: "the beneficiary's bank limit is exceeded",
    fix: 'Pay a smaller amount or wait for the limit period to pass.',
  },
  811: {
    name: 'RISK_POLICY',
    code: 'RISK_POLICY',
    meaning: "D24's risk policy stopped it",
    fix: 'Do not retry: contact D24 support with the payout id.',
  },
  826: {
    name: 'WITHDRAWAL_REVERSED',
    code: 'PAYOUT_REVERSED',
    meaning: 'the bank returned the money after completing it',
    fix: 'Confirm the account with the beneficiary before paying again; the funds are back in the D24 balance.',
  },
};

/** A REJECTED cashout's failure: the stable code, and a sentence naming D24's code and what to do. */
export function bankRejection(
  rejectionCode: number | string | null | undefined,
  rejectionReason: string | null | undefined,
): Pick<ProviderPayout, 'rejectionCode' | 'rejectionReason' | 'providerRejectionCode'> {
  const number =
    typeof rejectionCode === 'string' && /^\d{1,4}$/.test(rejectionCode) ? Number(rejectionCode) : rejectionCode;
  const known = typeof number === 'number' ? D24_REJECTIONS[number] : undefined;
  const theirs = [
    rejectionCode === undefined || rejectionCode === null ? '' : printableToken(rejectionCode),
    known?.name ?? (rejectionReason ? printableToken(rejectionReason) : ''),
  ]
    .filter(Boolean)
    .join(' ');
  const said = theirs ? ` (D24 ${theirs})` : '';
  return {
    rejectionCode: known?.code ?? 'BANK_REJECTED',
    rejectionReason: known
      ? `The bank rejected it: ${known.meaning}${said}. ${known.fix}`
      : `The bank rejected it${said}. Contact D24 support with the payout id before paying again.`,
    ...(rejectionCode === undefined || rejectionCode === null ? {} : { providerRejectionCode: String(rejectionCode) }),
  };
}

/** A provider-sent value for a sentence: printable and short, without quotes. */
function printableToken(value: number | string): string {
  return typeof value === 'number' ? String(value) : token(value).slice(1, -1);
}

// ---------------------------------------------------------------------------------------------
// Answers → domain
// ---------------------------------------------------------------------------------------------

/** The calls answered with a cashout status; all but `status` change the cashout. */
export type D24StatusOperation = 'status' | 'cancel' | 'hold' | 'release';

/** A malformed answer to a call that changes a cashout leaves its outcome unknown. */
function context(operation: string): AnswerContext {
  return { provider: D24, operation, write: operation !== 'status' && operation !== 'banks' };
}

export function toProviderPayout(
  cashoutId: string | undefined,
  body: D24CashoutStatus,
  operation: D24StatusOperation = 'status',
): ProviderPayout {
  if (!isD24Status(body.cashout_status)) {
    throw protocolError(
      context(operation),
      `cashout_status ${token(body.cashout_status)} is not a documented D24 status (0–5)`,
    );
  }
  const mapped = D24_STATUSES[body.cashout_status];
  return {
    ...(cashoutId ? { providerReference: cashoutId } : {}),
    state: mapped.state,
    providerStatus: mapped.name,
    // A rejection code is read only when D24 says REJECTED: a stale code on a later status (a
    // cashout retried after a rejection and then completed) must not mark a paid payout as failed.
    ...(mapped.state === 'rejected' ? bankRejection(body.rejection_code, body.rejection_reason) : {}),
  };
}

/** The answer to create: D24 accepted it (PENDING; a held create is read back with a status call). */
export function readCashoutCreated(body: Buffer): ProviderPayout {
  const { cashout_id } = readAnswer(d24CashoutCreatedSchema, body, context('create'));
  return { providerReference: String(cashout_id), state: 'pending', providerStatus: 'PENDING' };
}

/** The answer to status, cancel, hold or release. */
export function readCashoutStatus(
  body: Buffer,
  cashoutId: string | undefined,
  operation: D24StatusOperation,
): ProviderPayout {
  return toProviderPayout(cashoutId, readAnswer(d24CashoutStatusSchema, body, context(operation)), operation);
}

export function readBanks(body: Buffer): D24Bank[] {
  return readAnswer(d24BanksSchema, body, context('banks'));
}

// ---------------------------------------------------------------------------------------------
// Notifications (D24 → us): form fields; the provider verifies `control`
// ---------------------------------------------------------------------------------------------

/** The notification fields we use; the others (cashout_id, date, status_reason…) are unsigned. */
export interface D24Notification {
  external_id: string;
  control: string;
}

export function readNotification(rawBody: Buffer): D24Notification | null {
  const form = new URLSearchParams(rawBody.toString('utf8'));
  const externalId = form.get('external_id');
  const control = form.get('control');
  if (!externalId || !control) return null;
  return { external_id: externalId, control };
}
