import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import { ShutdownSignal } from '../common/shutdown/shutdown-signal';
import { batchConcurrencyOf, Environment } from '../config/environment';
import { open, SealedSecretError } from '../credentials/crypto/envelope';
import { MasterKeyring } from '../credentials/crypto/master-keyring';
import { InstanceLiveness } from '../database/instance-liveness';
import type { IdempotencyScope } from '../payouts/domain/idempotency';
import { FirstCommitRefused, NOT_READY_CODES, PayoutsService, type NewPayout } from '../payouts/payouts.service';
import { PROVIDERS } from '../providers/provider-catalogue';
import { batchRowContext, type ClaimedItem, rowPayoutKey } from './domain/batch';
import { batchCompletedEvent, BatchesService } from './batches.service';
import { BatchesRepository } from './persistence/batches.repository';

/** How long a claimed row is this replica's; a row still `sending` after it was lost with its sender and is claimed again. */
const SEND_LEASE_MS = 60_000;
/** How often the runner looks for due rows when nothing woke it. */
const IDLE_POLL_MS = 250;
/** How often finished batches are looked for (and announced). */
const COMPLETION_CHECK_MS = 1_000;

/**
 * Refusals that say "not now" rather than "never": the row waits and is tried again (its payout
 * key stays free, nothing was stored), so a batch uploaded before a credential is in service
 * goes out once it is.
 */
const NOT_NOW: ReadonlySet<string> = new Set<string>([
  ...NOT_READY_CODES,
  ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS,
  ErrorCode.IDEMPOTENCY_KEY_EXPIRED,
  ErrorCode.DATABASE_BUSY,
]);

/**
 * Sends batch rows as payouts, at most BATCH_CONCURRENCY (per provider, per replica) at once.
 * Rows are claimed from the database with a lease, so replicas share them and a replica that
 * dies leaves its rows to be claimed again; each row's payout has its own Idempotency-Key, so a
 * row sent again is answered by its first attempt (PayoutsService.create), never paid twice.
 */
@Injectable()
export class BatchRunner implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('BatchRunner');
  /** Per provider: rows whose create call is at the provider (at most BATCH_CONCURRENCY). */
  private readonly inFlight = new Map<string, number>();
  /**
   * Per provider: rows whose provider answered and whose answer is being recorded (a commit). They
   * no longer hold a slot: the slot bounds calls at the provider, and a row's send waited a third
   * of its time on that commit. At most BATCH_CONCURRENCY of them, so a slow database stops the
   * sending instead of answers piling up in memory.
   */
  private readonly recording = new Map<string, number>();
  private readonly sends = new Set<Promise<void>>();
  /** Per provider: the claim running now, and whether a slot freed meanwhile (claim again after it). */
  private readonly filling = new Map<string, Promise<void>>();
  private readonly fillAgain = new Set<string>();
  /**
   * Per provider: rows claimed and not started yet. Left as they are when the process stops:
   * another replica (or this one restarted) claims them again once this process's liveness lock
   * is gone (releaseRowsOfDeadSenders), and sending a row again is safe.
   */
  private readonly claimedAhead = new Map<string, Array<{ item: ClaimedItem; claimedAt: number }>>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private stopped = false;
  private lastCompletionCheck = 0;

  constructor(
    private readonly repository: BatchesRepository,
    private readonly batches: BatchesService,
    private readonly payouts: PayoutsService,
    private readonly keyring: MasterKeyring,
    private readonly environment: Environment,
    private readonly liveness: InstanceLiveness,
    shutdown: ShutdownSignal,
  ) {
    shutdown.onBegin(() => this.stopTakingWork());
  }

  onApplicationBootstrap(): void {
    // A stop that began while the app was starting (SIGTERM during start-up) is not undone.
    if (this.stopped) return;
    this.timer = setInterval(() => this.wake(), IDLE_POLL_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopTakingWork();
    await this.polling;
    await Promise.allSettled([...this.filling.values()]);
    // Rows being sent finish (or their lease lapses and another replica finishes them).
    await Promise.allSettled([...this.sends]);
  }

  /** No new pass, claim or send from now on; the rows being sent finish. */
  private stopTakingWork(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** Runs a pass now unless one is running (the poll calls this; tests may too). */
  wake(): void {
    if (this.stopped || this.polling) return;
    this.polling = this.pass()
      .catch((error: unknown) =>
        this.logger.warn({ error: error instanceof Error ? error.message : String(error) }, 'batch pass failed'),
      )
      .finally(() => (this.polling = undefined));
  }

  /** One pass: release the rows of dead senders and finish done batches (at most once a second), fill every provider's free slots. */
  async pass(): Promise<void> {
    if (Date.now() - this.lastCompletionCheck >= COMPLETION_CHECK_MS) {
      this.lastCompletionCheck = Date.now();
      await this.releaseRowsOfDeadSenders();
      const expired = await this.batches.expireOverdue();
      if (expired > 0)
        this.logger.warn({ batches: expired }, 'payout batches cancelled: their approval deadline passed');
      await this.finishBatches();
    }
    for (const provider of PROVIDERS) await this.fill(provider);
  }

  /**
   * Starts rows of `provider` in its free slots: rows claimed ahead first, else a claim of enough
   * due rows for the free slots plus a slot-count more held ahead, so one claim (one commit)
   * serves several sends instead of one per freed slot. Rows held ahead wait a few sends at most
   * (their lease is SEND_LEASE_MS); a batch cancelled meanwhile stores nothing for them (the
   * guard of their first commit, BatchesRepository.submittedWithPayout). One claim per provider
   * at a time; a slot freed meanwhile makes it look again right after.
   */
  private fill(provider: string): Promise<void> {
    const running = this.filling.get(provider);
    if (running) {
      this.fillAgain.add(provider);
      return running;
    }
    const fill = (async () => {
      do {
        this.fillAgain.delete(provider);
        if (this.stopped) return;
        const slots = batchConcurrencyOf(this.environment, provider);
        const free = this.freeSlots(provider, slots);
        if (free <= 0) return;
        // Rows held past half their lease are left to be claimed again when it ends (sends this
        // slow mean a provider taking tens of seconds): never started near the end of a lease.
        const ahead = (this.claimedAhead.get(provider) ?? []).filter(
          (held) => Date.now() - held.claimedAt < SEND_LEASE_MS / 2,
        );
        this.claimedAhead.set(provider, ahead);
        if (ahead.length < free) {
          const claimedAt = Date.now();
          const claimed = await this.repository.claimDue(
            provider,
            free + slots - ahead.length,
            SEND_LEASE_MS,
            this.liveness.id,
          );
          ahead.push(...claimed.map((item) => ({ item, claimedAt })));
          // The stop began during the claim: its rows are not started. They stay leased to this
          // process, and are claimed again when the lease lapses or this process is gone.
          if (this.stopped) return;
        }
        const startable = Math.min(this.freeSlots(provider, slots), ahead.length);
        for (const { item } of ahead.splice(0, startable)) this.start(provider, item);
      } while (this.fillAgain.has(provider));
    })()
      .catch((error: unknown) =>
        this.logger.warn(
          { provider, error: error instanceof Error ? error.message : String(error) },
          'batch claim failed',
        ),
      )
      .finally(() => this.filling.delete(provider));
    this.filling.set(provider, fill);
    return fill;
  }

  /**
   * Rows a process was sending when it died (SIGKILL, a lost host) are claimed again now, not
   * when their lease ends: its liveness lock is gone the moment it is. Sending them again is safe
   * (each row's payout has its own Idempotency-Key).
   */
  private async releaseRowsOfDeadSenders(): Promise<void> {
    const owners = await this.repository.sendingOwners(this.liveness.id);
    if (owners.length === 0) return;
    const alive = await this.liveness.alive(owners);
    const released = await this.repository.releaseRowsOf(owners.filter((owner) => !alive.has(owner)));
    if (released > 0) this.logger.warn({ rows: released }, 'batch rows of a sender that is gone are sent again');
  }

  /** Marks finished batches and announces batch.completed (both in one transaction per batch). */
  async finishBatches(): Promise<void> {
    const finished = await this.repository.completeFinished(batchCompletedEvent);
    for (const { batch, counts } of finished)
      this.logger.log({ batchId: batch.id, status: batch.status, counts }, 'payout batch finished');
  }

  /** Rows of `provider` that may start now: below the limit both at the provider and in recording. */
  private freeSlots(provider: string, slots: number): number {
    return Math.min(slots - (this.inFlight.get(provider) ?? 0), slots - (this.recording.get(provider) ?? 0));
  }

  private start(provider: string, item: ClaimedItem): void {
    const count = (counts: Map<string, number>, by: number) => counts.set(provider, (counts.get(provider) ?? 0) + by);
    count(this.inFlight, 1);
    let answered = false;
    // The provider answered: its slot is free while the answer is recorded.
    const providerAnswered = () => {
      if (answered) return;
      answered = true;
      count(this.inFlight, -1);
      count(this.recording, 1);
      void this.fill(provider);
    };
    const send: Promise<void> = this.send(item, providerAnswered)
      .catch((error: unknown) =>
        this.logger.error(
          { batchId: item.batchId, row: item.row, error: error instanceof Error ? error.message : String(error) },
          'could not record a batch row outcome; it is claimed again when its lease ends',
        ),
      )
      .finally(() => {
        count(answered ? this.recording : this.inFlight, -1);
        this.sends.delete(send);
        void this.fill(provider);
      });
    this.sends.add(send);
  }

  private async send(item: ClaimedItem, providerAnswered: () => void): Promise<void> {
    const idempotency = { apiKeyId: item.apiKeyId, key: rowPayoutKey(item.batchId, item.rowKey) };
    if (item.batchCancelled) return this.settleCancelled(item, idempotency);
    try {
      // Inside the try: a row that cannot be opened (sealed under a master key this service no
      // longer holds) backs off like any failure and says why, instead of being claimed again at
      // every lease's end.
      const payout = JSON.parse(
        open(this.keyring, batchRowContext(item.batchId, item.row), item.sealed).toString('utf8'),
      ) as NewPayout;
      const outcome = await this.payouts.create(payout, idempotency, {
        principal: item.principal,
        ...(item.batchApprovers ? { approvedInBatch: { batchId: item.batchId, approvers: item.batchApprovers } } : {}),
        link: this.repository.submittedWithPayout(item),
        onProviderAnswered: providerAnswered,
      });
      // A payout created now marked its row `submitted` in its own first commit.
      if (outcome.outcome === 'created') return;
      // A key answered before (an earlier attempt of this row stored its payout): the row follows it.
      const payoutId = (outcome.answer.body as { id?: unknown } | null)?.id;
      if (typeof payoutId !== 'string') throw new Error('a replayed payout answer without an id');
      await this.repository.markSubmitted(item.batchId, item.row, payoutId);
    } catch (error) {
      // The batch was cancelled after this row was claimed: nothing was stored or sent for it.
      if (error instanceof FirstCommitRefused) return this.settleCancelled(item, idempotency);
      if (error instanceof ApiError && !NOT_NOW.has(error.code)) {
        // A refusal after an earlier attempt of this row paid (its key then answers "reused" or
        // the like) must not hide that payout: the row follows the payout instead.
        const paid = await this.payouts.payoutIdForKey(idempotency);
        if (paid) await this.repository.markSubmitted(item.batchId, item.row, paid);
        else await this.repository.markRefused(item, error.code, error.message);
        return;
      }
      const code = error instanceof ApiError ? error.code : ErrorCode.INTERNAL;
      // A SealedSecretError's message names the master keys' variables, never a secret.
      const message =
        error instanceof ApiError || error instanceof SealedSecretError
          ? error.message
          : 'unexpected error; the row is tried again';
      if (!(error instanceof ApiError))
        this.logger.warn(
          { batchId: item.batchId, row: item.row, error: error instanceof Error ? error.message : String(error) },
          'batch row failed unexpectedly; tried again',
        );
      // Backs off from 1 s to 5 min: a provider environment fixed by the operator is picked up soon.
      const delayMs = Math.min(1_000 * 2 ** Math.min(item.attempts - 1, 9), 300_000);
      const requeued = await this.repository.requeue(item, { code, message }, new Date(Date.now() + delayMs));
      if (requeued === 'batch_cancelled') await this.settleCancelled(item, idempotency);
    }
  }

  /**
   * A row of a cancelled batch that an attempt had claimed: it shows the payout an attempt
   * stored under its key, else it is cancelled. Nothing is sent.
   */
  private async settleCancelled(item: ClaimedItem, idempotency: IdempotencyScope): Promise<void> {
    const paid = await this.payouts.payoutIdForKey(idempotency);
    if (paid) await this.repository.markSubmitted(item.batchId, item.row, paid);
    else await this.repository.markCancelled(item);
  }
}
