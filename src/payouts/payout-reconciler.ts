import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { PeriodicTask } from '../common/periodic-task';
import { Environment } from '../config/environment';
import { ProviderError } from '../providers/provider.port';
import { OPEN } from './domain/payout';
import { PayoutsRepository } from './persistence/payouts.repository';
import { IdempotencyKeysRepository } from './persistence/idempotency-keys.repository';
import { PayoutsService } from './payouts.service';

const BATCH = 25;

/**
 * Re-polls payouts that are not final, with back-off, and re-submits those whose submission is in
 * doubt (requested after a crash, or unknown after a lost answer): providers recognise our id, so
 * this ends in the right state, never in a second payout. It also runs the single follow-up check
 * a throttled notification schedules, even on a final payout (a provider may document the reversal of a completed one).
 * Replicas claim rows with FOR UPDATE SKIP LOCKED, so several can run on one database. A row has a
 * check due only while next_check_at is set; it is cleared once the payout is final.
 */
@Injectable()
export class PayoutReconciler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Reconciler');
  private readonly passes = new PeriodicTask(
    () => this.runOnce(),
    (error) =>
      this.logger.warn({ error: error instanceof Error ? error.message : String(error) }, 'reconciliation pass failed'),
  );

  constructor(
    private readonly rows: PayoutsRepository,
    private readonly idempotencyKeys: IdempotencyKeysRepository,
    private readonly payouts: PayoutsService,
    private readonly environment: Environment,
  ) {}

  onApplicationBootstrap(): void {
    this.passes.start(this.environment.RECONCILE_INTERVAL_MS);
  }

  onModuleDestroy(): Promise<void> {
    return this.passes.stop();
  }

  /**
   * One pass; returns how many payouts were looked at. A claimed payout is left to its claimer for
   * one lease (long enough for its provider calls to time out), so if that replica dies, another
   * takes over soon after.
   */
  async runOnce(): Promise<number> {
    const claimed = await this.rows.claimDueChecks(this.payouts.leaseMs(), BATCH);
    await Promise.all(claimed.map((row) => this.check(row.id, row.checkAttempts)));
    await this.idempotencyKeys.purgeExpired();
    return claimed.length;
  }

  private async check(id: string, attempts: number): Promise<void> {
    const payout = await this.payouts.get(id);
    try {
      if (payout.status === 'requested' || payout.status === 'unknown') {
        await this.payouts.submit(payout);
      } else {
        await this.payouts.applyProviderResult(
          payout,
          await this.payouts
            .provider(payout)
            .getPayout({ externalId: id, providerReference: payout.providerReference ?? undefined }),
          'reconcile',
        );
      }
    } catch (error) {
      this.logger.warn(
        { payoutId: id, error: error instanceof ProviderError ? error.code : String(error) },
        'could not reconcile payout; will retry',
      );
    } finally {
      // Back off: the next look is further away each time, until the payout is final.
      await this.rows.scheduleNextCheck(id, OPEN, this.payouts.nextCheck(Math.min(attempts, 10)));
    }
  }
}
