import type { Beneficiary, Provider } from '../../providers/provider.port';

/** A payout to a stored beneficiary: POST /v1/payouts with beneficiaryId instead of the account. */
export interface StoredBeneficiaryReference {
  beneficiaryId: string;
}

export function isStoredBeneficiaryReference(
  beneficiary: Beneficiary | StoredBeneficiaryReference,
): beneficiary is StoredBeneficiaryReference {
  return 'beneficiaryId' in beneficiary;
}

/**
 * Where payouts get a stored beneficiary from (the beneficiaries module implements it). Opening
 * checks that it exists, is active and is on the provider's rail, and refuses otherwise with an
 * ApiError that says what to fix.
 */
export abstract class BeneficiaryDirectory {
  abstract openForPayout(id: string, provider: Provider): Promise<Beneficiary>;
}
