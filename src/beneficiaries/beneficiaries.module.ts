import { Module } from '@nestjs/common';
import { CredentialsModule } from '../credentials/credentials.module';
import { PayoutBeneficiaries } from '../payouts/beneficiary/payout-beneficiaries';
import { BeneficiaryDirectory } from '../payouts/domain/beneficiary-directory';
import { BeneficiariesController } from './beneficiaries.controller';
import { BeneficiariesService } from './beneficiaries.service';
import { BeneficiariesRepository } from './persistence/beneficiaries.repository';

/**
 * Stored beneficiaries. Payouts reach them through the BeneficiaryDirectory port; this module
 * fingerprints with PayoutBeneficiaries (pure CPU, the same keyed hash as payouts), so the two
 * tables' fingerprints of one account are equal.
 */
@Module({
  imports: [CredentialsModule],
  controllers: [BeneficiariesController],
  providers: [
    BeneficiariesService,
    BeneficiariesRepository,
    PayoutBeneficiaries,
    { provide: BeneficiaryDirectory, useExisting: BeneficiariesService },
  ],
  exports: [BeneficiaryDirectory, BeneficiariesService],
})
export class BeneficiariesModule {}
