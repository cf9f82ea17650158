import type { MaskedBeneficiary } from '../../payouts/domain/payout';

export const BENEFICIARY_STATUSES = ['active', 'disabled'] as const;
export type BeneficiaryStatus = (typeof BENEFICIARY_STATUSES)[number];

/** A stored beneficiary as the API shows it: never more than the masked view of the account. */
export interface StoredBeneficiary {
  id: string;
  rail: MaskedBeneficiary['type'];
  label: string | null;
  masked: MaskedBeneficiary;
  status: BeneficiaryStatus;
  createdAt: Date;
  createdByKeyId: string | null;
  disabledAt: Date | null;
  disabledByKeyId: string | null;
}

export interface BeneficiaryFilter {
  rail?: StoredBeneficiary['rail'];
  status?: BeneficiaryStatus;
  cursor?: string;
  limit: number;
}
