import { Module } from '@nestjs/common';
import { BeneficiariesModule } from '../beneficiaries/beneficiaries.module';
import { CredentialsModule } from '../credentials/credentials.module';
import { EventsModule } from '../events/events.module';
import { ProvidersModule } from '../providers/providers.module';
import { PayoutPoliciesModule } from '../payout-policies/payout-policies.module';
import { BeneficiarySealing } from './beneficiary/beneficiary-sealing';
import { PayoutBeneficiaries } from './beneficiary/payout-beneficiaries';
import { UnitOfWork } from '../database/unit-of-work';
import { CreatedPayoutAnswer } from './domain/idempotency';
import { IdempotencyKeysRepository } from './persistence/idempotency-keys.repository';
import { PayoutsRepository } from './persistence/payouts.repository';
import { SealedBeneficiariesRepository } from './persistence/sealed-beneficiaries.repository';
import { PayoutApprovals } from './payout-approvals';
import { PayoutApprovalsRepository } from './persistence/payout-approvals.repository';
import { PayoutReconciler } from './payout-reconciler';
import { HttpCreatedPayoutAnswer, PayoutsController } from './payouts.controller';
import { PayoutsService } from './payouts.service';

@Module({
  imports: [ProvidersModule, EventsModule, CredentialsModule, BeneficiariesModule, PayoutPoliciesModule],
  controllers: [PayoutsController],
  providers: [
    PayoutsService,
    PayoutApprovals,
    PayoutApprovalsRepository,
    PayoutReconciler,
    PayoutBeneficiaries,
    BeneficiarySealing,
    UnitOfWork,
    PayoutsRepository,
    IdempotencyKeysRepository,
    SealedBeneficiariesRepository,
    { provide: CreatedPayoutAnswer, useClass: HttpCreatedPayoutAnswer },
  ],
  // PayoutsRepository: the webhooks module reads payouts and claims their notification fetches through it.
  exports: [PayoutsService, PayoutReconciler, PayoutBeneficiaries, BeneficiarySealing, PayoutsRepository],
})
export class PayoutsModule {}
