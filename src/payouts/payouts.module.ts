import { Module } from '@nestjs/common';
import { CredentialsModule } from '../credentials/credentials.module';
import { EventsModule } from '../events/events.module';
import { ProvidersModule } from '../providers/providers.module';
import { BeneficiarySealing } from './beneficiary/beneficiary-sealing';
import { PayoutBeneficiaries } from './beneficiary/payout-beneficiaries';
import { PayoutReconciler } from './payout-reconciler';
import { PayoutsController } from './payouts.controller';
import { PayoutsService } from './payouts.service';

@Module({
  imports: [ProvidersModule, EventsModule, CredentialsModule],
  controllers: [PayoutsController],
  providers: [PayoutsService, PayoutReconciler, PayoutBeneficiaries, BeneficiarySealing],
  exports: [PayoutsService, PayoutReconciler, PayoutBeneficiaries, BeneficiarySealing],
})
export class PayoutsModule {}
