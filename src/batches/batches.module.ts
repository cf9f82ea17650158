import { Module } from '@nestjs/common';
import { CredentialsModule } from '../credentials/credentials.module';
import { UnitOfWork } from '../database/unit-of-work';
import { PayoutPoliciesModule } from '../payout-policies/payout-policies.module';
import { PayoutsModule } from '../payouts/payouts.module';
import { BatchRunner } from './batch-runner';
import { BatchesController } from './batches.controller';
import { BatchesService } from './batches.service';
import { BatchesRepository } from './persistence/batches.repository';

@Module({
  imports: [PayoutsModule, CredentialsModule, PayoutPoliciesModule],
  controllers: [BatchesController],
  providers: [BatchesService, BatchesRepository, BatchRunner, UnitOfWork],
  exports: [BatchRunner],
})
export class BatchesModule {}
