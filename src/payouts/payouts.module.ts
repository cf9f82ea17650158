import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { ProvidersModule } from '../providers/providers.module';
import { PayoutReconciler } from './payout-reconciler';
import { PayoutsController } from './payouts.controller';
import { PayoutsService } from './payouts.service';

@Module({
  imports: [ProvidersModule, EventsModule],
  controllers: [PayoutsController],
  providers: [PayoutsService, PayoutReconciler],
  exports: [PayoutsService, PayoutReconciler],
})
export class PayoutsModule {}
