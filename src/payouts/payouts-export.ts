import { stringify } from 'csv-stringify';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Payout } from './domain/payout';

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

function toRow(payout: Payout): ExportRow {
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

/**
 * Writes the CSV to `destination` (the HTTP response) with backpressure: a slow client slows the
 * reads from PostgreSQL, it does not fill memory. The first page is read before anything is
 * written, so a failure there (database busy) is still an ordinary JSON error answer; a failure
 * later destroys the response, so the client sees a broken transfer, never a short file that
 * looks complete. A client that goes away stops the reads. Cells a spreadsheet would run as a
 * formula (=, +, -, @, tab, CR first) are escaped with a leading quote: references and names are
 * text that others typed, and opening the export must not execute it.
 */
export async function writePayoutsCsv(
  payouts: AsyncIterable<Payout>,
  destination: Writable,
  beforeFirstByte: () => void,
): Promise<void> {
  const iterator = payouts[Symbol.asyncIterator]();
  const first = await iterator.next();
  beforeFirstByte();
  const rows = Readable.from(
    (async function* () {
      if (first.done) return;
      yield toRow(first.value);
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield toRow(next.value);
    })(),
  );
  await pipeline(
    rows,
    stringify({
      header: true,
      columns: [...EXPORT_COLUMNS],
      escape_formulas: true,
      record_delimiter: 'windows',
      bom: true,
    }),
    destination,
  );
}
