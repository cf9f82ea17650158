import type { Transaction } from '../database/unit-of-work';
import type { PayoutPolicy, PolicyScope } from './domain/payout-controls';

/**
 * Where payouts read the policies that govern them (the payout-policies module implements it).
 * Locked FOR UPDATE in a stable order until the payout's first commit: payouts under one policy
 * are counted one after another, so concurrent ones cannot pass a rolling limit together.
 */
export abstract class PayoutPolicyBook {
  abstract lockGoverning(transaction: Transaction, payout: PolicyScope): Promise<PayoutPolicy[]>;
  /** Every policy as committed now, unlocked: for a look ahead (a batch's approvals), never for limits. */
  abstract list(): Promise<PayoutPolicy[]>;
}
