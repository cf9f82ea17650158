import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validateSync } from 'class-validator';
import { createHash } from 'node:crypto';
import { ApiError, type FieldProblem } from '../../common/errors/api-error';
import { toFieldProblems } from '../../common/errors/validation';
import { PROVIDER_DESCRIPTORS } from '../../providers/registered-providers';
import { CreatePayoutDto } from '../../payouts/dto/payout.dto';
import { toNewPayout } from '../../payouts/payout-input';
import type { NewPayout } from '../../payouts/payouts.service';

/** At most this many rows per batch (JSON items or CSV data rows). */
export const MAX_BATCH_ROWS = 10_000;
/** A row's own key: in the payout's Idempotency-Key `batch:<batchId>:<rowKey>` (which holds 255). */
export const ROW_KEY = /^[\x21-\x7e]{1,200}$/;

/** A problem with one row: its number (1 = the first item, or the first CSV row below the header) and field. */
export interface RowProblem extends FieldProblem {
  row: number;
}

/** A row that passed every check, ready to be stored and sent. */
export interface ValidRow {
  row: number;
  rowKey: string;
  payout: NewPayout;
}

export interface CheckedRows {
  valid: ValidRow[];
  problems: RowProblem[];
  /** Rows with at least one problem. */
  invalidRows: number;
  /** SHA-256 of the rows as received (after CSV parsing): the same batch key with other rows is refused. */
  hash: string;
}

/** Rows checked between two yields to the event loop (about 40 ms of work on this machine). */
const ROWS_PER_SLICE = 250;

/**
 * Checks every row as POST /v1/payouts checks one payout (the same DTO rules, the same rail and
 * amount checks), all at once, so the report lists every problem of every row. Account-number
 * rules are hard problems here: a batch row is new, never a retry of an answered request.
 * 10,000 rows are about 1.6 s of work: done in slices, letting other requests (and the provider
 * notifications of batches already running) through in between.
 */
export async function checkRows(rows: ReadonlyArray<Record<string, unknown>>): Promise<CheckedRows> {
  const valid: ValidRow[] = [];
  const problems: RowProblem[] = [];
  const seenKeys = new Map<string, number>();
  let invalidRows = 0;
  for (let index = 0; index < rows.length; index++) {
    if (index > 0 && index % ROWS_PER_SLICE === 0) await yieldToEventLoop();
    const raw = rows[index];
    const row = index + 1;
    const own: FieldProblem[] = [];
    const { rowKey: rawKey, ...fields } = raw;
    const rowKey = rawKey === undefined || rawKey === null || rawKey === '' ? String(row) : rawKey;
    if (typeof rowKey !== 'string' || !ROW_KEY.test(rowKey)) {
      own.push({ field: 'rowKey', code: 'INVALID_ROW_KEY', message: 'must be 1-200 visible ASCII characters' });
    } else if (seenKeys.has(rowKey)) {
      own.push({
        field: 'rowKey',
        code: 'DUPLICATE_ROW_KEY',
        message: `is the same as row ${seenKeys.get(rowKey)}'s; each row needs its own key (or leave it empty to use the row number)`,
      });
    } else {
      seenKeys.set(rowKey, row);
    }
    const dto = plainToInstance(CreatePayoutDto, fields);
    const shape = toFieldProblems(validateSync(dto, { whitelist: true, forbidNonWhitelisted: true }));
    own.push(...shape);
    let payout: NewPayout | undefined;
    if (shape.length === 0) {
      try {
        const checked = toNewPayout(dto);
        if (checked.refusedUnlessReplayed.length) own.push(...checked.refusedUnlessReplayed);
        else payout = checked.payout;
      } catch (error) {
        if (!(error instanceof ApiError) || !Array.isArray(error.details)) throw error;
        own.push(...(error.details as FieldProblem[]));
      }
    }
    if (own.length > 0 || !payout) {
      invalidRows++;
      problems.push(...own.map((problem) => ({ row, ...problem })));
    } else {
      valid.push({ row, rowKey: rowKey as string, payout });
    }
  }
  return { valid, problems, invalidRows, hash: createHash('sha256').update(JSON.stringify(rows)).digest('hex') };
}

/** Sums decimal strings exactly (BigInt on a fixed scale of 6 decimals, the most any amount has). */
export function sumAmounts(amounts: readonly string[]): string {
  const SCALE = 6;
  let total = 0n;
  for (const amount of amounts) {
    const [whole, fraction = ''] = amount.split('.');
    total += BigInt(whole) * 10n ** BigInt(SCALE) + BigInt(fraction.padEnd(SCALE, '0').slice(0, SCALE) || '0');
  }
  const text = total.toString().padStart(SCALE + 1, '0');
  const whole = text.slice(0, -SCALE);
  const fraction = text.slice(-SCALE).replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : whole;
}

// ---- CSV ------------------------------------------------------------------------------------------

/** The columns of a batch CSV besides `beneficiary.<field>` and `metadata.<key>`. */
/** Columns a batch CSV may have: the known ones, the rails' beneficiary fields and up to 20 metadata keys fit well inside. */
export const MAX_CSV_COLUMNS = 100;

export const CSV_COLUMNS = [
  'rowKey',
  'provider',
  'environment',
  'amount',
  'currency',
  'reference',
  'beneficiaryId',
  'holdOnCreate',
] as const;

/**
 * Per rail, the beneficiary fields its DTO validates as integers (a bank code): a CSV cell is
 * text, so these are read as numbers, and every other cell stays text (an account number keeps
 * its leading zeros).
 */
const INTEGER_FIELDS: ReadonlyMap<string, ReadonlySet<string>> = new Map(
  PROVIDER_DESCRIPTORS.map((descriptor) => [
    descriptor.rail,
    new Set(
      getMetadataStorage()
        .getTargetValidationMetadatas(descriptor.beneficiaryDto, '', true, false)
        .filter((metadata) => metadata.name === 'isInt')
        .map((metadata) => metadata.propertyName),
    ),
  ]),
);

/** Every beneficiary field of every rail, for the template and the header check. */
export const BENEFICIARY_FIELDS: readonly string[] = [
  ...new Set(
    PROVIDER_DESCRIPTORS.flatMap((descriptor) =>
      getMetadataStorage()
        .getTargetValidationMetadatas(descriptor.beneficiaryDto, '', true, false)
        .map((metadata) => metadata.propertyName),
    ),
  ),
];

/**
 * The problems of a CSV header: unknown or repeated columns. Checked before any row is read, so
 * a misspelt column fails the upload with its name instead of failing every row.
 */
export function checkCsvHeader(columns: readonly string[]): FieldProblem[] {
  // Checked first: every row becomes an object of these columns, and validating objects of
  // thousands of fields held the event loop for tens of seconds (the template has about 30).
  if (columns.length > MAX_CSV_COLUMNS)
    return [
      {
        field: '(header)',
        code: 'TOO_MANY_COLUMNS',
        message: `has ${columns.length} columns; a batch CSV has at most ${MAX_CSV_COLUMNS} (see GET /v1/payout-batches/template.csv)`,
      },
    ];
  const problems: FieldProblem[] = [];
  const seen = new Set<string>();
  for (const column of columns) {
    const known =
      (CSV_COLUMNS as readonly string[]).includes(column) ||
      // beneficiary.<field>, or beneficiary.<field>.<part> for a nested one (address.city).
      (/^beneficiary\.[A-Za-z0-9]+(\.[A-Za-z0-9]+)?$/.test(column) &&
        BENEFICIARY_FIELDS.includes(column.split('.')[1])) ||
      /^metadata\.[A-Za-z0-9_.-]{1,40}$/.test(column);
    if (!known)
      problems.push({
        field: column,
        code: 'UNKNOWN_COLUMN',
        message: 'is not a batch column; see GET /v1/payout-batches/template.csv for the columns',
      });
    if (seen.has(column)) problems.push({ field: column, code: 'DUPLICATE_COLUMN', message: 'appears twice' });
    seen.add(column);
  }
  for (const required of ['provider', 'environment', 'amount', 'currency'])
    if (!seen.has(required))
      problems.push({ field: required, code: 'MISSING_COLUMN', message: 'is a required column' });
  return problems;
}

/** One CSV record (column → cell) as the JSON item it stands for. Empty cells are absent fields. */
export function csvRecordToItem(record: Readonly<Record<string, string>>): Record<string, unknown> {
  const item: Record<string, unknown> = {};
  const beneficiary: Record<string, unknown> = {};
  const metadata: Record<string, string> = {};
  for (const [column, cell] of Object.entries(record)) {
    if (cell === '') continue;
    if (column.startsWith('beneficiary.')) {
      const [field, part] = column.slice('beneficiary.'.length).split('.');
      if (part === undefined) beneficiary[field] = cell;
      else {
        const nested = beneficiary[field];
        beneficiary[field] = { ...(nested !== null && typeof nested === 'object' ? nested : {}), [part]: cell };
      }
    } else if (column.startsWith('metadata.')) metadata[column.slice('metadata.'.length)] = cell;
    // A flag is written true or false; anything else stays text and is refused as not a boolean.
    else if (column === 'holdOnCreate') item[column] = cell === 'true' ? true : cell === 'false' ? false : cell;
    else item[column] = cell;
  }
  const integers = INTEGER_FIELDS.get(String(beneficiary.type)) ?? new Set<string>();
  for (const field of integers) {
    const cell = beneficiary[field];
    if (typeof cell === 'string' && /^-?\d{1,15}$/.test(cell)) beneficiary[field] = Number(cell);
  }
  if (Object.keys(beneficiary).length > 0) item.beneficiary = beneficiary;
  if (Object.keys(metadata).length > 0) item.metadata = metadata;
  return item;
}
