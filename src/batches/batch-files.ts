import { stringify } from 'csv-stringify/sync';
import type { BatchItem } from './domain/batch';
import { PROVIDER_DESCRIPTORS } from '../providers/registered-providers';
import { CSV_COLUMNS } from './domain/batch-rows';

/** The columns of GET /v1/payout-batches/{id}/results.csv, in order. */
export const BATCH_RESULT_COLUMNS = [
  'row',
  'rowKey',
  'status',
  'payoutId',
  'provider',
  'environment',
  'amount',
  'currency',
  'reference',
  'beneficiaryAccount',
  'failureCode',
  'failureReason',
  'errorCode',
  'errorMessage',
  'attempts',
  'updatedAt',
] as const;

export function batchResultRow(item: BatchItem): Record<(typeof BATCH_RESULT_COLUMNS)[number], string> {
  const beneficiary = item.beneficiary;
  const account = beneficiary.bankAccount ?? beneficiary.iban ?? beneficiary.cardToken ?? beneficiary.beneficiaryId;
  return {
    row: String(item.row),
    rowKey: item.rowKey,
    status: item.status,
    payoutId: item.payoutId ?? '',
    provider: item.provider,
    environment: item.environment,
    amount: item.amount,
    currency: item.currency,
    reference: item.reference ?? '',
    beneficiaryAccount: typeof account === 'string' ? account : '',
    failureCode: item.failure?.code ?? '',
    failureReason: item.failure?.reason ?? '',
    errorCode: item.error?.code ?? '',
    errorMessage: item.error?.message ?? '',
    attempts: String(item.attempts),
    updatedAt: item.updatedAt.toISOString(),
  };
}

/** A beneficiary as CSV cells: nested objects become dotted columns (beneficiary.address.city). */
function flatten(value: Readonly<Record<string, unknown>>, prefix: string): Array<[string, string]> {
  return Object.entries(value).flatMap(([key, inner]): Array<[string, string]> =>
    inner !== null && typeof inner === 'object'
      ? flatten(inner as Record<string, unknown>, `${prefix}${key}.`)
      : [[`${prefix}${key}`, String(inner)]],
  );
}

/**
 * The template: every column the registered providers' sample payouts use, one example row per
 * provider (its beneficiary inline), and one paying a stored beneficiary by id. Any other
 * `beneficiary.<field>` of a rail and any `metadata.<key>` may be added as a column.
 */
function buildTemplate(): string {
  const rows = PROVIDER_DESCRIPTORS.map((descriptor, index) => {
    const environments = descriptor.environments as readonly string[];
    const cells: Record<string, string> = {
      rowKey: `invoice-2026-${String(42 + index).padStart(4, '0')}`,
      provider: descriptor.id,
      environment: environments.includes('simulator') ? 'simulator' : environments[0],
      amount: descriptor.samplePayout.amount,
      currency: descriptor.samplePayout.currency,
      reference: `invoice 2026-${String(42 + index).padStart(4, '0')}`,
      ...Object.fromEntries(flatten(descriptor.samplePayout.beneficiary, 'beneficiary.')),
      'metadata.orderId': String(42 + index),
    };
    return cells;
  });
  const first = rows[0];
  rows.push({
    rowKey: 'invoice-2026-0100',
    provider: first.provider,
    environment: first.environment,
    amount: first.amount,
    currency: first.currency,
    reference: 'a stored beneficiary, paid by its id',
    beneficiaryId: '3f1c1b7e-8a3e-4c1e-9d4b-2b1f0a9c8d7e',
    'metadata.orderId': '100',
  });
  const columns = [...new Set([...CSV_COLUMNS, ...rows.flatMap((row) => Object.keys(row))])];
  return stringify([columns, ...rows.map((row) => columns.map((column) => row[column] ?? ''))], {
    bom: true,
    record_delimiter: 'windows',
  });
}

export const BATCH_TEMPLATE_CSV = buildTemplate();
