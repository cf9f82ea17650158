import type { LatamBankBeneficiary, PayoutInstruction, ProviderPayout, ProviderPayoutState } from '../provider.port';
import { ProviderError } from '../provider.port';

/** D24 cashout statuses 0–5 in the domain's words. DELIVERED means the bank has it: processing. */
const STATES: Record<number, { state: ProviderPayoutState; name: string }> = {
  0: { state: 'pending', name: 'PENDING' },
  1: { state: 'completed', name: 'COMPLETED' },
  2: { state: 'cancelled', name: 'CANCELLED' },
  3: { state: 'rejected', name: 'REJECTED' },
  4: { state: 'processing', name: 'DELIVERED' },
  5: { state: 'on_hold', name: 'ON_HOLD' },
};

export interface D24StatusBody {
  cashout_status: number;
  cashout_status_description?: string;
  rejection_code?: number | string;
  rejection_reason?: string;
}

export function toProviderPayout(cashoutId: string | undefined, body: D24StatusBody): ProviderPayout {
  const mapped = STATES[body.cashout_status];
  if (!mapped) throw new ProviderError('PAYOUT_REJECTED', `D24 returned an unknown cashout status ${body.cashout_status}.`);
  return {
    ...(cashoutId ? { providerReference: cashoutId } : {}),
    state: mapped.state,
    providerStatus: mapped.name,
    ...(body.rejection_code !== undefined ? { rejectionCode: String(body.rejection_code) } : {}),
    ...(body.rejection_reason ? { rejectionReason: body.rejection_reason } : {}),
  };
}

/** Every documented D24 error code, as a domain error. */
export function toProviderError(httpStatus: number, body: { code?: number; message?: string; reason?: string }): ProviderError {
  const code = Number(body.code);
  const detail = [body.message, body.reason].filter(Boolean).join(': ') || `HTTP ${httpStatus}`;
  switch (code) {
    case 511:
      return new ProviderError('PAYOUT_ALREADY_EXISTS', `D24 already has this external_id (${detail}).`, { providerCode: code });
    case 509:
      return new ProviderError('PAYOUT_NOT_FOUND', `D24 does not know this cashout (${detail}).`, { providerCode: code });
    case 514:
      return new ProviderError('INSUFFICIENT_FUNDS', `The D24 balance does not cover this cashout (${detail}).`, { providerCode: code });
    case 510:
    case 702:
      return new ProviderError('INVALID_TRANSITION', `D24 refused the status change (${detail}).`, { providerCode: code });
    case 302:
    case 401:
    case 402:
      return new ProviderError('PROVIDER_AUTH_FAILED', `D24 refused our authentication: ${code === 302 ? 'signature' : code === 402 ? 'source IP not whitelisted' : 'credentials'} (${detail}).`, { providerCode: code });
    default:
      // 300 invalid params, 303 bank code, 502 malformed, 504 KYC, 508 limit, 518 country, 526 currency, 533 minimum …
      return new ProviderError('PAYOUT_REJECTED', `D24 rejected the request with code ${Number.isFinite(code) ? code : httpStatus} (${detail}).`, { providerCode: Number.isFinite(code) ? code : httpStatus });
  }
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
    throw new ProviderError('PAYOUT_REJECTED', 'D24 pays out to Latin American bank accounts only (beneficiary.type latam_bank_account).');
  }
  if (!DECIMAL.test(instruction.amount.amount)) {
    throw new ProviderError('PAYOUT_REJECTED', `D24 amounts have at most 2 decimals; got ${instruction.amount.amount}.`);
  }
  const fields: Record<string, unknown> = {
    login,
    pass,
    external_id: instruction.externalId,
    country: beneficiary.country,
    currency: instruction.amount.currency,
    amount: AMOUNT_MARK,
    document_id: beneficiary.documentId,
    document_type: beneficiary.documentType,
    beneficiary_name: beneficiary.name,
    beneficiary_lastname: beneficiary.lastName,
    email: beneficiary.email,
    phone: beneficiary.phone,
    bank_code: beneficiary.bankCode,
    bank_account: beneficiary.bankAccount,
    bank_branch: beneficiary.bankBranch,
    account_type: beneficiary.accountType,
    notification_url: instruction.notificationUrl,
    comments: instruction.reference,
    type: 'json',
  };
  return JSON.stringify(fields).replace(JSON.stringify(AMOUNT_MARK), instruction.amount.amount);
}
