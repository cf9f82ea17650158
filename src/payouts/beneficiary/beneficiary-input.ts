import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import type { FieldProblem } from '../../common/errors/api-error';
import { toFieldProblems } from '../../common/errors/validation';
import { PROVIDER_DESCRIPTORS } from '../../providers/registered-providers';
import type { BeneficiaryRuleProblem, ProviderDescriptor } from '../../providers/provider-descriptor';
import type { Beneficiary } from '../../providers/provider.port';

/** The rails beneficiaries are paid on, each with the DTO that validates it (from the provider descriptors). */
export const RAILS = [...new Set(PROVIDER_DESCRIPTORS.map((descriptor) => descriptor.rail))];

/**
 * The codes of the account-number rules (country documents, interbank check digits, no card
 * number): rules that tightened after payouts were accepted, so a payout's retry may break them
 * although its first request was answered (see PayoutsService.create).
 */
const NUMBER_RULE_CODES: ReadonlySet<string> = new Set([
  'INVALID_DOCUMENT',
  'INVALID_BANK_ACCOUNT',
  'INVALID_BANK_BRANCH',
  'PAN_NOT_ALLOWED',
]);

export interface CheckedBeneficiary {
  /** Present when the shape is right (only numberProblems, if any, remain). */
  beneficiary?: Beneficiary;
  /** Missing, unknown or malformed fields, and a wrong rail. */
  problems: FieldProblem[];
  /** Account numbers that break their country's or the rail's number rules. */
  numberProblems: FieldProblem[];
}

/**
 * A beneficiary as a client sent it, checked against its rail's rules (fields, formats, check
 * digits, no unknown field) and then its provider's (fields a country requires, formats of its
 * bank codes, and the payout's `currency` when given), inline in a payout or stored on its own.
 * Problems are named under `field` (e.g. beneficiary.documentId). `rail`, when given, is the only
 * rail accepted.
 */
export function checkBeneficiary(
  raw: Record<string, unknown>,
  field: string,
  { rail, currency }: { rail?: { expected: string; because: string }; currency?: string } = {},
): CheckedBeneficiary {
  const type = raw.type;
  if (rail && type !== rail.expected) {
    const problem = { field: `${field}.type`, code: 'WRONG_RAIL', message: `must be ${rail.expected} ${rail.because}` };
    return { problems: [problem], numberProblems: [] };
  }
  const descriptor = PROVIDER_DESCRIPTORS.find((candidate) => candidate.rail === type);
  if (!descriptor) {
    const problem = { field: `${field}.type`, code: 'IS_IN', message: `must be one of ${RAILS.join(', ')}` };
    return { problems: [problem], numberProblems: [] };
  }
  const instance: object = plainToInstance(descriptor.beneficiaryDto as new () => object, raw);
  const all = toFieldProblems(validateSync(instance, { whitelist: true, forbidNonWhitelisted: true }), field);
  const problems = all.filter((problem) => !NUMBER_RULE_CODES.has(problem.code));
  const numberProblems = all.filter((problem) => NUMBER_RULE_CODES.has(problem.code));
  if (problems.length > 0) return { problems, numberProblems };
  // A plain copy: the validated class instance carries nothing a provider call or the seal needs.
  const beneficiary = JSON.parse(JSON.stringify(instance)) as Beneficiary;
  // The provider's rules came after payouts were accepted too: they refuse like number rules, so
  // an earlier key's retry is still answered. A field the rail's rules already refused is not
  // refused twice.
  const refused = new Set(numberProblems.map((problem) => problem.field));
  for (const problem of providerRuleProblems(descriptor, beneficiary, { currency })) {
    const named = problem.field === 'currency' ? 'currency' : `${field}.${problem.field}`;
    if (!refused.has(named)) numberProblems.push({ ...problem, field: named });
  }
  return { beneficiary, problems, numberProblems };
}

/** The provider's own rules on a beneficiary its rail accepted (see ProviderDescriptor.beneficiaryRules). */
export function providerRuleProblems(
  descriptor: Pick<ProviderDescriptor, 'beneficiaryRules'>,
  beneficiary: Beneficiary,
  context: { currency?: string },
): readonly BeneficiaryRuleProblem[] {
  return descriptor.beneficiaryRules?.(beneficiary, context) ?? [];
}
