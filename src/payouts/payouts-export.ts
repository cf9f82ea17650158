import type { Writable } from 'node:stream';
import { writeCsv } from '../common/http/csv-download';
import type { PayoutView } from './domain/payout';

/**
 * The columns of GET /v1/payouts/export.csv, in order. Amounts are decimal strings as the API
 * answers them; accounts, documents and card tokens are masked as in every answer.
 */
export const EXPORT_COLUMNS = [
  'id',
  'createdAt',
  'updatedAt',
  'provider',
  'environment',
  'status',
  'amount',
  'currency',
  'reference',
  'beneficiaryType',
  'beneficiaryCountry',
  'beneficiaryName',
  'beneficiaryAccount',
  'beneficiaryDocument',
  'providerReference',
  'providerStatus',
  'failureCode',
  'failureReason',
  'feeAmount',
  'feeCurrency',
  'approvalsRequired',
] as const;

type ExportRow = Record<(typeof EXPORT_COLUMNS)[number], string>;

function toRow(payout: PayoutView): ExportRow {
  const beneficiary = payout.beneficiary;
  const account =
    beneficiary.type === 'iban'
      ? beneficiary.iban
      : beneficiary.type === 'card'
        ? beneficiary.cardToken
        : beneficiary.bankAccount;
  return {
    id: payout.id,
    createdAt: payout.createdAt.toISOString(),
    updatedAt: payout.updatedAt.toISOString(),
    provider: payout.provider,
    environment: payout.environment,
    status: payout.status,
    amount: payout.amount.amount,
    currency: payout.amount.currency,
    reference: payout.reference ?? '',
    beneficiaryType: beneficiary.type,
    beneficiaryCountry: beneficiary.type === 'latam_bank_account' ? beneficiary.country : '',
    beneficiaryName: beneficiary.type === 'card' ? '' : beneficiary.name,
    beneficiaryAccount: account ?? '',
    beneficiaryDocument: beneficiary.type === 'latam_bank_account' ? (beneficiary.documentId ?? '') : '',
    providerReference: payout.providerReference ?? '',
    providerStatus: payout.providerStatus ?? '',
    failureCode: payout.failureCode ?? '',
    failureReason: payout.failureReason ?? '',
    feeAmount: payout.fees?.amount ?? '',
    feeCurrency: payout.fees?.currency ?? '',
    approvalsRequired: String(payout.approvalsRequired),
  };
}

/** GET /v1/payouts/export.csv: see writeCsv for streaming, errors midway and formula escaping. */
export function writePayoutsCsv(
  payouts: AsyncIterable<PayoutView>,
  destination: Writable,
  beforeFirstByte: () => void,
): Promise<void> {
  return writeCsv(payouts, toRow, EXPORT_COLUMNS, destination, beforeFirstByte);
}
