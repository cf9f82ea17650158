import { Module } from '@nestjs/common';
import { PayoutPolicyBook } from '../payouts/payout-policy-book';
import { PayoutPoliciesController } from './payout-policies.controller';
import { PayoutPoliciesService } from './payout-policies.service';
import { PayoutPoliciesRepository } from './persistence/payout-policies.repository';

/** Payout policies (limits, approval rules). Payouts reach them through the PayoutPolicyBook port. */
@Module({
  controllers: [PayoutPoliciesController],
  providers: [
    PayoutPoliciesService,
    PayoutPoliciesRepository,
    { provide: PayoutPolicyBook, useExisting: PayoutPoliciesService },
  ],
  exports: [PayoutPolicyBook],
})
export class PayoutPoliciesModule {}
