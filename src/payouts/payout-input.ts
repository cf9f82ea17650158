import type { FieldProblem } from '../common/errors/api-error';
import { ApiError } from '../common/errors/api-error';
import type { Beneficiary } from '../providers/provider.port';
import { isCurrency, normaliseAmount } from './domain/money';
import { BATCH_ROW_KEY_PREFIX } from './domain/idempotency';
import { descriptorOf, ENVIRONMENTS } from '../providers/provider-catalogue';
import type { CreatePayoutDto } from './dto/payout.dto';
import { checkBeneficiary } from './beneficiary/beneficiary-input';
import type { StoredBeneficiaryReference } from './domain/beneficiary-directory';
import type { NewPayout } from './payouts.service';

const AMOUNT_MESSAGES = {
  NOT_A_DECIMAL: 'must be a positive decimal string such as "150.75"',
  NOT_POSITIVE: 'must be greater than zero',
  TOO_LARGE: 'is too large',
} as const;

/** An amount in a currency (known to be ISO 4217), normalised, or the problem with it for `field`. */
export function checkAmount(
  field: string,
  text: string,
  currency: string,
): { amount: string } | { problem: FieldProblem } {
  const checked = normaliseAmount(text, currency);
  if (!('problem' in checked)) return checked;
  return {
    problem: {
      field,
      code: checked.problem,
      message:
        checked.problem === 'TOO_PRECISE'
          ? `has more than the ${checked.decimals} decimal(s) ${currency} allows`
          : AMOUNT_MESSAGES[checked.problem],
    },
  };
}

/**
 * The checks a DTO cannot express: the environment belongs to the provider, the amount fits the
 * currency's precision, the beneficiary is the provider's rail and complete. Every problem is
 * reported at once, with its field.
 */
export interface PayoutRequest {
  payout: NewPayout;
  /**
   * Account numbers that break the number rules: refused (400) unless the Idempotency-Key was
   * answered before, whose answer is replayed (PayoutsService.create). Those rules came after
   * payouts were accepted, and a retry of one must get its first answer, not a 400 that reads as
   * "not created" and invites paying again under a new key.
   */
  refusedUnlessReplayed: FieldProblem[];
}

export function toNewPayout(dto: CreatePayoutDto): PayoutRequest {
  const problems: FieldProblem[] = [];
  if (!(ENVIRONMENTS[dto.provider] as readonly string[]).includes(dto.environment)) {
    problems.push({
      field: 'environment',
      code: 'NOT_AN_ENVIRONMENT_OF_PROVIDER',
      message: `must be one of ${ENVIRONMENTS[dto.provider].join(', ')} for ${dto.provider}`,
    });
  }
  let amount = dto.amount;
  if (!isCurrency(dto.currency)) {
    problems.push({ field: 'currency', code: 'UNKNOWN_CURRENCY', message: 'must be an ISO 4217 currency code' });
  } else {
    const checked = checkAmount('amount', dto.amount, dto.currency);
    if ('problem' in checked) problems.push(checked.problem);
    else amount = checked.amount;
  }

  const { rail } = descriptorOf(dto.provider);
  let beneficiary: Beneficiary | StoredBeneficiaryReference | undefined;
  let numberProblems: FieldProblem[] = [];
  // null counts as absent (IsOptional lets it through): never a 500 for {"beneficiary": null}.
  if ((dto.beneficiary == null) === (dto.beneficiaryId == null)) {
    problems.push({
      field: 'beneficiary',
      code: 'EXACTLY_ONE',
      message:
        'send either beneficiary (the account itself) or beneficiaryId (a stored beneficiary), not both or neither',
    });
  } else if (dto.beneficiaryId != null) {
    // Its rail is checked when it is opened (PayoutsService.create): that needs the database.
    beneficiary = { beneficiaryId: dto.beneficiaryId };
  } else if (dto.beneficiary != null) {
    const checked = checkBeneficiary(dto.beneficiary, 'beneficiary', {
      rail: { expected: rail, because: `for ${dto.provider}` },
      ...(isCurrency(dto.currency) ? { currency: dto.currency } : {}),
    });
    problems.push(...checked.problems);
    numberProblems = checked.numberProblems;
    beneficiary = checked.beneficiary;
  }

  const metadata = dto.metadata ?? {};
  const entries = Object.entries(metadata);
  if (entries.length > 20)
    problems.push({ field: 'metadata', code: 'TOO_MANY_KEYS', message: 'may have at most 20 keys' });
  for (const [key, value] of entries) {
    if (typeof value !== 'string' || value.length > 500 || key.length > 40) {
      problems.push({
        field: `metadata.${key}`,
        code: 'NOT_A_SHORT_STRING',
        message: 'must be a string of at most 500 characters under a key of at most 40',
      });
    }
  }

  if (problems.length > 0) throw ApiError.validation([...problems, ...numberProblems]);
  const payout: NewPayout = {
    provider: dto.provider,
    environment: dto.environment,
    amount: { amount, currency: dto.currency },
    beneficiary: beneficiary as Beneficiary | StoredBeneficiaryReference,
    reference: dto.reference,
    metadata: metadata as Record<string, string>,
    // Only when asked: an absent flag keeps the request hash of keys stored before it existed.
    ...(dto.holdOnCreate ? { holdOnCreate: true as const } : {}),
  };
  return { payout, refusedUnlessReplayed: numberProblems };
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export function idempotencyKeyOf(header: string | undefined): string {
  if (!header || !IDEMPOTENCY_KEY.test(header)) {
    throw ApiError.validation([
      {
        field: 'Idempotency-Key',
        code: 'REQUIRED',
        message: 'header is required: 1-255 visible ASCII characters, unique per payout (a UUID is ideal)',
      },
    ]);
  }
  return header;
}

/**
 * The Idempotency-Key of POST /v1/payouts: as idempotencyKeyOf, and never one of the keys batch
 * rows are sent with (BATCH_ROW_KEY_PREFIX): a payout planted under a row's key would be taken
 * for that row's payout, and the batch would report the row paid with someone else's payout.
 */
export function payoutIdempotencyKeyOf(header: string | undefined): string {
  const key = idempotencyKeyOf(header);
  if (key.startsWith(BATCH_ROW_KEY_PREFIX))
    throw ApiError.validation([
      {
        field: 'Idempotency-Key',
        code: 'RESERVED',
        message: `keys beginning with "${BATCH_ROW_KEY_PREFIX}" are reserved for the rows of payout batches; use another key (a UUID is ideal)`,
      },
    ]);
  return key;
}
