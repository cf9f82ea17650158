import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { PeriodicTask } from '../../common/periodic-task';
import { UnitOfWork } from '../../database/unit-of-work';
import type { Beneficiary } from '../../providers/provider.port';
import { SealedBeneficiariesRepository } from '../persistence/sealed-beneficiaries.repository';
import { PayoutBeneficiaries } from './payout-beneficiaries';

const BATCH = 100;
/**
 * After the pass at boot, how often to look again: replicas of the previous version keep writing
 * plaintext rows until a rolling deploy has replaced them all. Each look is one probe of an empty
 * partial index.
 */
const AGAIN_EVERY_MS = 15 * 60_000;

/**
 * The database side of sealed beneficiaries, outside the payout hot path:
 * - at boot, seals rows written before beneficiaries were sealed (or, during a rolling deploy, by
 *   a replica of the previous version): SQL cannot encrypt, so the migration only adds columns;
 * - for the master key rotation, re-wraps every beneficiary's data key and recomputes its fingerprint;
 * - finds payouts to an account by fingerprint.
 * Replicas and a running rotation share the work through row locks, as the reconciler does.
 */
@Injectable()
export class BeneficiarySealing implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('BeneficiarySealing');
  // pass() logs its own failures.
  private readonly again = new PeriodicTask(
    () => this.pass(),
    () => undefined,
  );
  private bootPass: Promise<void> = Promise.resolve();
  private stopping = false;

  constructor(
    private readonly unitOfWork: UnitOfWork,
    private readonly rows: SealedBeneficiariesRepository,
    private readonly beneficiaries: PayoutBeneficiaries,
  ) {}

  /**
   * In the background: a large backlog must not hold up start-up and readiness, and an unsealed row
   * is still paid correctly meanwhile (from its plaintext). Once every row is sealed, a pass is one
   * probe of ix_payouts_beneficiary_unsealed, which is partial and then empty.
   */
  onApplicationBootstrap(): void {
    this.bootPass = this.pass();
    this.again.start(AGAIN_EVERY_MS);
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    await Promise.all([this.bootPass, this.again.stop()]);
  }

  /** Resolves when the pass started at boot is over (for tests and scripts). */
  bootPassDone(): Promise<void> {
    return this.bootPass;
  }

  private async pass(): Promise<void> {
    try {
      const sealed = await this.sealLegacyRows();
      if (sealed > 0)
        this.logger.log(
          { sealed },
          `sealed the beneficiary of ${sealed} payout(s) written before beneficiaries were sealed`,
        );
    } catch (error) {
      this.logger.warn(
        { error: error instanceof Error ? error.message : String(error) },
        'could not seal the beneficiaries of older payouts; will try again',
      );
    }
  }

  /**
   * Seals every row whose sealed columns are NULL and replaces its readable beneficiary with the
   * masked one. Idempotent. Rows locked at that moment (a payout being updated, another replica
   * sealing them) are skipped and left to that replica or the next boot; the provider call of such
   * a row still works meanwhile (SealedBeneficiary falls back to the row's plaintext).
   */
  async sealLegacyRows(): Promise<number> {
    let total = 0;
    while (!this.stopping) {
      const count = await this.unitOfWork.run(async (transaction) => {
        const rows = await this.rows.lockUnsealed(transaction, BATCH);
        for (const row of rows)
          await this.rows.storeSealed(transaction, row.id, this.beneficiaries.seal(row.id, row.beneficiary));
        return rows.length;
      });
      total += count;
      if (count < BATCH) break;
    }
    return total;
  }

  /**
   * Re-wraps every beneficiary's data key under the current master key (the ciphertext stays) and
   * recomputes its fingerprint under the current key, in one update per row. Returns how many.
   * Walks the table once in primary key order; waits for (does not skip) rows a payout is being
   * updated under, so none is left behind. Safe to run twice and beside running replicas.
   */
  async rewrapAll(): Promise<number> {
    const current = this.beneficiaries.currentMasterKeyId;
    let count = 0;
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const rows = await this.unitOfWork.run(async (transaction) => {
        const batch = await this.rows.lockSealedUnderOtherKey(transaction, after, current, BATCH);
        for (const row of batch)
          await this.rows.storeRewrapped(transaction, row.id, this.beneficiaries.rewrap(row.id, row.sealed));
        return batch;
      });
      if (rows.length === 0) return count;
      count += rows.length;
      after = rows[rows.length - 1].id;
    }
  }

  /** Payouts to this account, newest first (every key of the ring, so this works mid-rotation). */
  async payoutIdsTo(beneficiary: Beneficiary, limit = 100): Promise<string[]> {
    return this.rows.idsByFingerprint(this.beneficiaries.fingerprints(beneficiary), limit);
  }
}
