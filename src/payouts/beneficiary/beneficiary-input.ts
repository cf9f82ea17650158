import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import type { FieldProblem } from '../../common/errors/api-error';
import { toFieldProblems } from '../../common/errors/validation';
import { PROVIDER_DESCRIPTORS } from '../../providers/registered-providers';
import type { Beneficiary } from '../../providers/provider.port';

/** The rails beneficiaries are paid on, each with the DTO that validates it (from the provider descriptors). */
export const RAILS = [...new Set(PROVIDER_DESCRIPTORS.map((descriptor) => descriptor.rail))];

/**
 * A beneficiary as a client sent it, checked against its rail's rules (fields, formats, check
 * digits, no unknown field), inline in a payout or stored on its own. Problems are named under
 * `field` (e.g. beneficiary.documentId). `rail`, when given, is the only rail accepted.
 */
export function checkBeneficiary(
  raw: Record<string, unknown>,
  field: string,
  rail?: { expected: string; because: string },
): { beneficiary?: Beneficiary; problems: FieldProblem[] } {
  const type = raw.type;
  if (rail && type !== rail.expected) {
    return {
      problems: [{ field: `${field}.type`, code: 'WRONG_RAIL', message: `must be ${rail.expected} ${rail.because}` }],
    };
  }
  const descriptor = PROVIDER_DESCRIPTORS.find((candidate) => candidate.rail === type);
  if (!descriptor) {
    return { problems: [{ field: `${field}.type`, code: 'IS_IN', message: `must be one of ${RAILS.join(', ')}` }] };
  }
  const instance: object = plainToInstance(descriptor.beneficiaryDto as new () => object, raw);
  const problems = toFieldProblems(validateSync(instance, { whitelist: true, forbidNonWhitelisted: true }), field);
  // A plain copy: the validated class instance carries nothing a provider call or the seal needs.
  return problems.length > 0
    ? { problems }
    : { beneficiary: JSON.parse(JSON.stringify(instance)) as Beneficiary, problems };
}
