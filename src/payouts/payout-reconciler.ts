import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, Optional } from '@nestjs/common';
import { PeriodicTask } from '../common/periodic-task';
import { ShutdownSignal } from '../common/shutdown/shutdown-signal';
import { Environment, reconcileConcurrencyOf } from '../config/environment';
import { PROVIDERS } from '../providers/provider-catalogue';
import { ProviderError } from '../providers/provider.port';
import { OPEN, type Payout, TERMINAL } from './domain/payout';
import { PayoutsRepository } from './persistence/payouts.repository';
import { IdempotencyKeysRepository } from './persistence/idempotency-keys.repository';
import { PayoutApprovals } from './payout-approvals';
import { PayoutsService, RECONCILER_POLL, reportsNothingNew } from './payouts.service';
import { Metrics } from '../observability/metrics';

/**
 * Re-polls payouts that are not final, with back-off, and re-submits those whose submission is in
 * doubt (requested after a crash, or unknown after a lost answer): providers recognise our id, so
 * this ends in the right state, never in a second payout. It also runs the single follow-up check
 * a throttled notification schedules, even on a final payout (a provider may document the reversal of a completed one).
 *
 * A pass claims, per provider, as many due payouts as that provider's concurrency allows
 * (RECONCILE_CONCURRENCY, RECONCILE_CONCURRENCY_BY_PROVIDER), checks them at once, and claims again
 * while a provider still had a full round: a backlog (after an outage) drains as fast as the
 * providers are allowed to be called, instead of one small batch per interval. Replicas claim with
 * FOR UPDATE SKIP LOCKED and a lease, so several share a backlog without checking a payout twice.
 * A row has a check due only while next_check_at is set; it is cleared once the payout is final,
 * and never set while it waits for approval (such a payout was not sent: there is nothing to
 * check, and re-submitting it would send it unapproved). Each pass also cancels the payouts whose
 * approval deadline passed.
 */
@Injectable()
export class PayoutReconciler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Reconciler');
  private stopping = false;
  private readonly passes = new PeriodicTask(
    // A woken pass only checks what is due; the housekeeping waits for the periodic one.
    (pass) => (pass.woken ? this.checkDue() : this.runOnce()),
    (error) =>
      this.logger.warn({ error: error instanceof Error ? error.message : String(error) }, 'reconciliation pass failed'),
  );

  constructor(
    private readonly rows: PayoutsRepository,
    private readonly idempotencyKeys: IdempotencyKeysRepository,
    private readonly payouts: PayoutsService,
    private readonly environment: Environment,
    private readonly approvals: PayoutApprovals,
    private readonly metrics: Metrics,
    // Optional: replicas made by hand (tests) have no app shutting down.
    @Optional() shutdown?: ShutdownSignal,
  ) {
    // The pass in progress is awaited by onModuleDestroy, which logs nothing more about it.
    shutdown?.onBegin(() => void this.stopTakingWork().catch(() => undefined));
    metrics.onScrape(async () => {
      const { due, oldestDueSeconds } = await rows.dueCheckBacklog(PROVIDERS);
      metrics.reconcilerBacklog.set(due);
      metrics.reconcilerOldestDue.set(oldestDueSeconds);
    });
  }

  onApplicationBootstrap(): void {
    // A stop that began while the app was starting (SIGTERM during start-up) is not undone.
    if (this.stopping) return;
    this.passes.start(this.environment.RECONCILE_INTERVAL_MS);
  }

  /**
   * A check falls due at `at` (epoch ms; a throttled notification's follow-up): a pass runs
   * then, instead of at the next RECONCILE_INTERVAL_MS tick, so the follow-up is as late as the
   * throttle asks and no later. Only a hint: the due time is in the database, and the periodic
   * passes (on any replica) find it whatever happens to this process.
   */
  checkDueAt(at: number): void {
    if (!this.stopping) this.passes.runAt(at);
  }

  onModuleDestroy(): Promise<void> {
    return this.stopTakingWork();
  }

  /** The round in progress finishes (its claims are leased to this replica); no new one starts. */
  private stopTakingWork(): Promise<void> {
    this.stopping = true;
    return this.passes.stop();
  }

  /** One pass: the checks due (see checkDue), then cancel expired approvals and purge expired keys; returns how many payouts were looked at. */
  async runOnce(): Promise<number> {
    const checked = await this.checkDue();
    if (this.stopping) return checked;
    // Payouts that waited past their approval deadline are cancelled, never sent.
    await this.approvals.expireDue();
    await this.idempotencyKeys.purgeExpired();
    return checked;
  }

  /** Rounds of due checks until no provider has a full round left; returns how many payouts were looked at. */
  private async checkDue(): Promise<number> {
    const limits = PROVIDERS.map((provider) => ({
      provider,
      limit: reconcileConcurrencyOf(this.environment, provider),
    }));
    let checked = 0;
    for (;;) {
      const claimed = await this.rows.claimDueChecks(this.payouts.leaseMs(), limits);
      const payouts = await this.rows.findByIds(claimed.map((row) => row.id));
      await Promise.all(
        claimed.flatMap((row) => {
          const payout = payouts.get(row.id);
          return payout ? [this.check(payout, row)] : [];
        }),
      );
      checked += claimed.length;
      const fullRound = limits.some(
        ({ provider, limit }) => claimed.filter((row) => row.provider === provider).length === limit,
      );
      if (!fullRound || this.stopping) break;
      // Let requests waiting on the event loop in between rounds.
      await new Promise((resolve) => setImmediate(resolve));
    }
    return checked;
  }

  private async check(payout: Payout, claim: { checkAttempts: number; lease: string }): Promise<void> {
    let movedToFinal = false;
    let reportedNews = false;
    try {
      const after =
        payout.status === 'requested' || payout.status === 'unknown'
          ? await this.payouts.submit(payout)
          : await this.payouts.applyProviderResult(
              payout,
              await this.payouts
                .provider(payout)
                .getPayout({ externalId: payout.id, providerReference: payout.providerReference ?? undefined }),
              RECONCILER_POLL,
            );
      // This check's own commit cleared next_check_at with the final status (one statement fewer).
      movedToFinal = after.status !== payout.status && TERMINAL.has(after.status);
      reportedNews = !reportsNothingNew(payout, after);
      this.metrics.reconcilerChecks.inc({
        provider: payout.provider,
        outcome: after.status === payout.status ? 'unchanged' : 'changed',
      });
    } catch (error) {
      this.metrics.reconcilerChecks.inc({ provider: payout.provider, outcome: 'error' });
      this.logger.warn(
        { payoutId: payout.id, error: error instanceof ProviderError ? error.code : String(error) },
        'could not reconcile payout; will retry',
      );
    } finally {
      // Back off: each check that learns nothing new (claimDueChecks counted it) looks further
      // away, up to nextCheck's ceiling; one that saw the payout move looks again soon. An open
      // payout a provider keeps pending for days is asked a few hundred times a day, not every
      // other interval.
      if (!movedToFinal)
        await this.rows.scheduleNextCheck(
          payout.id,
          OPEN,
          this.payouts.nextCheck(reportedNews ? 0 : Math.min(claim.checkAttempts, 10)),
          claim.lease,
        );
    }
  }
}
