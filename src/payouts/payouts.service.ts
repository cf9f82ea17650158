import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { createHmac, hkdfSync, randomUUID } from 'node:crypto';
import { type AuditActor, AuditTrail, SERVICE_ACTOR } from '../audit/audit-trail';
import { ApiError, type FieldProblem } from '../common/errors/api-error';
import { descriptorOf } from '../providers/provider-catalogue';
import { providerRuleProblems } from './beneficiary/beneficiary-input';
import { ErrorCode } from '../common/errors/error-codes';
import { Metrics } from '../observability/metrics';
import { Environment } from '../config/environment';
import { MasterKeyring } from '../credentials/crypto/master-keyring';
import { InstanceLiveness } from '../database/instance-liveness';
import { Transaction, UnitOfWork } from '../database/unit-of-work';
import { FINAL_PAYOUT_EVENTS } from '../events/domain/event-types';
import { OutboundEvents, type OutboxEvent } from '../events/outbound-events.service';
import { ProviderRegistry } from '../providers/provider.registry';
import {
  Beneficiary,
  Capability,
  Money,
  PayoutProvider,
  ProviderError,
  ProviderPayout,
  type Provider,
  type ProviderEnvironment,
  type ProviderErrorCode,
} from '../providers/provider.port';
import { PayoutBeneficiaries } from './beneficiary/payout-beneficiaries';
import {
  BeneficiaryDirectory,
  isStoredBeneficiaryReference,
  type StoredBeneficiaryReference,
} from './domain/beneficiary-directory';
import { CreatedPayoutAnswer, CreateOutcome, IdempotencyClaim, IdempotencyScope } from './domain/idempotency';
import { judgeTransition, maskBeneficiary, Payout, PayoutStatus, type PayoutView, TERMINAL } from './domain/payout';
import type { PayoutHistoryEntry } from './domain/payout-history';
import {
  approvalsRequired,
  askingAboutFirstPayout,
  firstLimitBreach,
  hasRollingLimit,
  type LimitBreach,
  type PayoutPolicy,
  type PolicyScope,
  type RollingUsage,
} from './domain/payout-controls';
import { IdempotencyKeysRepository, type NewClaim } from './persistence/idempotency-keys.repository';
import {
  type OutcomeEffects,
  type PayoutStateChange,
  type PagePosition,
  PayoutsRepository,
  type FirstCommitLink,
  type RequestedPayout,
} from './persistence/payouts.repository';
import { PayoutPolicyBook } from './payout-policy-book';
import { Slots } from '../common/slots';

export interface NewPayout {
  provider: Provider;
  environment: ProviderEnvironment;
  amount: Money;
  /** The account itself, or a stored beneficiary to open (after the replay check: see create). */
  beneficiary: Beneficiary | StoredBeneficiaryReference;
  reference?: string;
  metadata?: Record<string, string>;
  /** Created parked at the provider (see CreatePayoutDto.holdOnCreate). */
  holdOnCreate?: true;
}

export interface PayoutFilter {
  status?: PayoutStatus;
  provider?: Provider;
  environment?: ProviderEnvironment;
  createdFrom?: Date;
  createdTo?: Date;
  reference?: string;
  cursor?: string;
  limit: number;
}

type Operation = 'cancel' | 'hold' | 'release' | 'sync';
const OPERATION_AUDIT_ACTIONS = {
  cancel: 'payout.cancelled',
  hold: 'payout.held',
  release: 'payout.released',
} as const;

const CAPABILITY: Record<Operation, Capability> = {
  cancel: 'payouts.cancel',
  hold: 'payouts.hold',
  release: 'payouts.hold',
  sync: 'payouts.status',
};

/** Where a provider's report came from, and what applying it owes the caller. */
export interface ReportOrigin {
  /** Recorded in the history entry's detail ("create", "webhook:<provider>", "reconcile", …). */
  source: string;
  /**
   * The reconciler's own status poll: one that learns nothing writes nothing (its back-off grows).
   * Any other report brings the next check forward (see outcomeOf).
   */
  reconcilerPoll?: boolean;
  /** A create's answer: stored for its idempotency key whatever the report says. */
  answerTo?: IdempotencyScope;
}

/** The origin of a report the reconciler fetched itself. */
export const RECONCILER_POLL: ReportOrigin = Object.freeze({ source: 'reconcile', reconcilerPoll: true });

/**
 * The payouts domain service. A payout is committed (status requested, our id = the provider's
 * external id) before any provider is called, unless the provider environment cannot take it at
 * all (no host, no usable credential): then nothing is stored (see create). One Idempotency-Key
 * makes exactly one provider call, serialised by PostgreSQL's unique index; provider answers go
 * through one state machine.
 */
@Injectable()
export class PayoutsService {
  private readonly logger = new Logger('Payouts');

  constructor(
    private readonly unitOfWork: UnitOfWork,
    private readonly payouts: PayoutsRepository,
    private readonly idempotencyKeys: IdempotencyKeysRepository,
    private readonly createdAnswer: CreatedPayoutAnswer,
    private readonly registry: ProviderRegistry,
    private readonly environment: Environment,
    private readonly outbound: OutboundEvents,
    private readonly liveness: InstanceLiveness,
    private readonly beneficiaries: PayoutBeneficiaries,
    private readonly directory: BeneficiaryDirectory,
    private readonly keyring: MasterKeyring,
    private readonly policyBook: PayoutPolicyBook,
    private readonly audit: AuditTrail,
    private readonly metrics: Metrics,
  ) {
    this.governedSlots = new Slots(Math.max(1, Math.floor(environment.DATABASE_POOL_MAX / 2)));
  }

  private readonly requestHashKeys = new Map<string, Buffer>();
  /**
   * Governed creates wait on policy locks holding a pooled connection: at most half the pool at
   * once, so a burst under one policy queues here, in memory, and reads, approvals, webhooks and
   * the reconciler keep getting connections.
   */
  private readonly governedSlots: Slots;

  /**
   * The request's identity for idempotency: the body with keys sorted, under HMAC. Keyed because
   * the body holds the full beneficiary: a plain hash in a dump would let anyone confirm a guessed
   * account number. One hash per master key in the ring, the current one first, so a replay still
   * matches while a master key rotation runs.
   */
  private requestHashes(value: unknown): string[] {
    const canonical = (input: unknown): unknown =>
      Array.isArray(input)
        ? input.map(canonical)
        : input && typeof input === 'object'
          ? Object.fromEntries(
              Object.keys(input)
                .sort()
                .map((key) => [key, canonical((input as Record<string, unknown>)[key])]),
            )
          : input;
    const text = JSON.stringify(canonical(value));
    return [this.keyring.current.id, ...this.keyring.ids.filter((id) => id !== this.keyring.current.id)].map((id) => {
      let key = this.requestHashKeys.get(id);
      if (!key) {
        key = Buffer.from(
          hkdfSync(
            'sha256',
            (this.keyring.get(id) as { key: Buffer }).key,
            Buffer.alloc(0),
            'payments-backend/idempotency-request-hash',
            32,
          ),
        );
        this.requestHashKeys.set(id, key);
      }
      return createHmac('sha256', key).update(text).digest('hex');
    });
  }

  /**
   * Creates the payout of a request with an Idempotency-Key, or (same key again) returns the
   * answer stored for the first request with that key.
   */
  async create(
    input: NewPayout,
    idempotency: IdempotencyScope,
    options: {
      refusedUnlessReplayed?: FieldProblem[];
      principal?: string;
      /**
       * A row of a payout batch its approvers approved as a whole: the approval rules were
       * answered for the batch, so the payout does not wait again; the limits still apply.
       */
      approvedInBatch?: { batchId: string; approvers: string[] };
      /** Committed with the payout's first commit or not at all; its guard saying no throws FirstCommitRefused. */
      link?: FirstCommitLink;
      /**
       * Called once the provider answered the create (or the call failed), before the answer is
       * recorded: a caller bounding calls in flight to the provider frees its slot then.
       */
      onProviderAnswered?: () => void;
    } = {},
  ): Promise<CreateOutcome> {
    const provider = this.registry.get(input.provider, input.environment);
    if (!provider.capabilities.payouts.create) throw unsupported(input.provider, 'payouts.create');
    if (input.holdOnCreate && !provider.capabilities.payouts.hold)
      throw unsupported(input.provider, 'payouts.hold', 'holding a payout at creation');
    const requestHashes = this.requestHashes(input);
    if (options.refusedUnlessReplayed?.length) {
      // Number rules that came after the first request with this key must not refuse its retry.
      if (await this.idempotencyKeys.find(idempotency)) return this.replay(idempotency, requestHashes);
      throw ApiError.validation(options.refusedUnlessReplayed);
    }
    // A stored beneficiary first: a request that is wrong (a disabled beneficiary, a rule it breaks)
    // is answered as such whatever state the provider is in.
    let beneficiary: Beneficiary;
    let beneficiaryId: string | null = null;
    if (isStoredBeneficiaryReference(input.beneficiary)) {
      beneficiaryId = input.beneficiary.beneficiaryId;
      try {
        beneficiary = await this.directory.openForPayout(beneficiaryId, input.provider);
        refuseStoredBeneficiary(beneficiary, input);
      } catch (error) {
        // A key answered before keeps its answer even if the beneficiary was disabled, or the
        // provider's rules tightened, since.
        if (await this.idempotencyKeys.find(idempotency)) return this.replay(idempotency, requestHashes);
        throw error;
      }
    } else {
      beneficiary = input.beneficiary;
    }
    // Refused before anything is stored when the provider environment cannot take a create now (no
    // host configured, a credential it needs missing, expired or revoked, no OAuth authorization):
    // no payout, no history, no event, and the Idempotency-Key stays free, so the same request with
    // the same key succeeds once the operator has fixed it. This reads the credential caches, not
    // the database. A credential revoked (or expiring) between this check and the provider call is
    // the rare race left as it was: the payout is stored, the call is refused before sending, and
    // recordFailure fails the payout with that code (answered 201 with status failed).
    const notReady = await notReadyToCreate(provider);
    if (notReady) {
      // A key used before keeps its answer (stored, or the first attempt's), whatever the credentials are now.
      if (await this.idempotencyKeys.find(idempotency)) return this.replay(idempotency, requestHashes);
      throw refusedBeforeStoring(notReady, input);
    }
    const id = randomUUID();
    const claim: NewClaim = {
      requestHash: requestHashes[0],
      payoutId: id,
      ownerInstance: this.liveness.id,
      leaseMs: this.leaseMs(),
    };
    const requested: RequestedPayout = {
      id,
      status: 'requested',
      provider: input.provider,
      environment: input.environment,
      amount: input.amount,
      // Masked view readable, full beneficiary sealed to this payout id, fingerprint: sealed once, here.
      beneficiary: this.beneficiaries.seal(id, beneficiary),
      beneficiaryId,
      reference: input.reference ?? null,
      metadata: input.metadata ?? {},
      createdByKeyId: idempotency.apiKeyId,
      nextCheckAt: new Date(Date.now() + this.leaseMs()),
      approvalsRequired: 0,
      approvalExpiresAt: null,
      holdOnCreate: input.holdOnCreate === true,
    };
    const history = {
      amount: input.amount,
      beneficiary: maskBeneficiary(beneficiary),
      ...(beneficiaryId ? { beneficiaryId } : {}),
      reference: input.reference,
      createdBy: { keyId: idempotency.apiKeyId, principal: options.principal ?? null },
      ...(options.approvedInBatch ? { approvedInBatch: options.approvedInBatch } : {}),
    };
    // The claim is the lock: a concurrent request with the same key waits until this statement
    // commits, then finds the claim and replays. The claim names this process (its liveness lock)
    // and a lease, so a retry can tell a first attempt still at work from one whose process died.
    // When a payout policy governs the payout, nothing is written here: see createGoverned.
    const first = await this.payouts.claimAndInsertRequested(idempotency, claim, requested, history, {
      unlessGoverned: true,
      events: this.createdEvents(requested),
      ...(options.link ? { link: options.link } : {}),
    });
    if (first.outcome === 'link_refused') throw new FirstCommitRefused();
    if (first.outcome === 'taken') return this.replay(idempotency, requestHashes);
    if (first.outcome === 'inserted') {
      this.metrics.payoutCreated(first.payout);
      return this.answer(first.payout, idempotency, provider, options.onProviderAnswered);
    }
    return this.createGoverned(idempotency, requestHashes, claim, requested, history, beneficiary, provider, {
      approvedInBatch: options.approvedInBatch !== undefined,
      link: options.link,
      onProviderAnswered: options.onProviderAnswered,
    });
  }

  /**
   * The first commit of a payout that payout policies govern, in one transaction: lock the
   * policies (so payouts under one policy are counted one after another), replay a key answered
   * meanwhile, refuse a payout that breaks a limit (422, nothing stored, the key stays free), and
   * decide whether it waits for approval. A pending_approval payout's answer is stored in the same
   * commit: it is final for this request, and a replay answers the same.
   */
  private async createGoverned(
    idempotency: IdempotencyScope,
    requestHashes: string[],
    claim: NewClaim,
    requested: RequestedPayout,
    history: Record<string, unknown>,
    beneficiary: Beneficiary,
    provider: PayoutProvider,
    decision: {
      approvedInBatch: boolean;
      link: FirstCommitLink | undefined;
      onProviderAnswered: (() => void) | undefined;
    },
  ): Promise<CreateOutcome> {
    const decided = await this.governedSlots.run(() =>
      this.unitOfWork.run(async (transaction): Promise<Payout | null> => {
        const scope = {
          currency: requested.amount.currency,
          provider: requested.provider,
          environment: requested.environment,
          apiKeyId: idempotency.apiKeyId,
        };
        const policies = await this.lockPolicies(transaction, scope);
        // On this transaction's connection: waiting for a second one while holding the policy lock
        // could starve the pool (every connection held by payouts queued on that lock).
        if (await this.idempotencyKeys.find(idempotency, transaction)) return null;
        await this.enforceLimits(transaction, policies, requested.amount, null);
        const approval = decision.approvedInBatch
          ? { required: 0, reasons: [] }
          : await this.approvalsFor(transaction, policies, requested.amount, beneficiary);
        const payout: RequestedPayout =
          approval.required > 0
            ? {
                ...requested,
                status: 'pending_approval',
                approvalsRequired: approval.required,
                approvalExpiresAt: new Date(Date.now() + this.environment.PAYOUT_APPROVAL_TTL_HOURS * 3_600_000),
                nextCheckAt: null,
              }
            : requested;
        const inserted = await this.payouts.claimAndInsertRequested(
          idempotency,
          claim,
          payout,
          approval.required > 0
            ? { ...history, approval: { required: approval.required, reasons: approval.reasons } }
            : history,
          {
            transaction,
            unlessGoverned: false,
            events: this.createdEvents(payout),
            ...(decision.link ? { link: decision.link } : {}),
          },
        );
        if (inserted.outcome === 'link_refused') throw new FirstCommitRefused();
        if (inserted.outcome !== 'inserted') return null;
        if (inserted.payout.status === 'pending_approval')
          await this.settled(transaction, inserted.payout, idempotency);
        return inserted.payout;
      }),
    );
    if (!decided) return this.replay(idempotency, requestHashes);
    this.metrics.payoutCreated(decided);
    if (decided.status === 'pending_approval') return { outcome: 'created', payout: decided };
    return this.answer(decided, idempotency, provider, decision.onProviderAnswered);
  }

  /** What the approval rules of the locked `policies` ask of this payout (the first-payout rule asks the database). */
  private async approvalsFor(
    transaction: Transaction,
    policies: PayoutPolicy[],
    amount: RequestedPayout['amount'],
    beneficiary: Beneficiary,
  ): Promise<{ required: number; reasons: string[] }> {
    const fingerprints = this.beneficiaries.fingerprints(beneficiary);
    const known = new Set<string>();
    for (const policy of askingAboutFirstPayout(policies)) {
      if (await this.payouts.completedBefore(transaction, fingerprints, policy.scope)) known.add(policy.id);
    }
    return approvalsRequired(policies, amount, { firstPayoutToBeneficiary: (policy) => !known.has(policy.id) });
  }

  /**
   * The policies governing a payout of this scope, locked for the transaction. First a shared
   * lock that a PUT of the policies takes exclusively: the policies read next are the committed
   * set, never one a concurrent PUT is replacing. A bounded lock wait: a payout queued too long
   * behind others under the same policy answers 503 DATABASE_BUSY (send it again) instead of
   * holding its connection without end.
   */
  async lockPolicies(transaction: Transaction, scope: PolicyScope): Promise<PayoutPolicy[]> {
    await this.payouts.waitForPolicyLocks(transaction, POLICY_LOCK_TIMEOUT_MS);
    return this.policyBook.lockGoverning(transaction, scope);
  }

  /**
   * Throws the 422 of the first limit this payout would break under the locked `policies`;
   * `excludeId` is a payout counted again as new (one being approved).
   */
  async enforceLimits(
    transaction: Transaction,
    policies: readonly PayoutPolicy[],
    amount: Money,
    excludeId: string | null,
  ): Promise<void> {
    const usage = new Map<string, RollingUsage>();
    for (const policy of policies.filter(hasRollingLimit)) {
      usage.set(policy.id, await this.payouts.rollingUsage(transaction, policy.scope, excludeId));
    }
    const breach = firstLimitBreach(policies, amount, usage);
    if (breach) throw limitBreached(breach);
  }

  /**
   * Finishes a claimed request: submits the payout (or, when it has moved on without us, reads
   * it) and stores the answer for replays in the same transaction as the outcome. If this fails
   * unexpectedly, the claim is released so a retry takes over at once instead of after the lease.
   */
  private async answer(
    payout: Payout,
    idempotency: IdempotencyScope,
    provider: PayoutProvider,
    onProviderAnswered?: () => void,
  ): Promise<CreateOutcome> {
    try {
      const answered =
        payout.status === 'requested' || payout.status === 'unknown'
          ? await this.submit(payout, provider, idempotency, { onProviderAnswered })
          : await this.unitOfWork.run((transaction) => this.settled(transaction, payout, idempotency));
      return { outcome: 'created', payout: answered };
    } catch (error) {
      await this.idempotencyKeys.releaseUnanswered(idempotency).catch(() => undefined); // the lease then runs out on its own
      throw error;
    }
  }

  /**
   * Sends a payout that is in the database to its provider and records the outcome. Used for new
   * payouts and, by the reconciler, for payouts whose submission may not have happened: providers
   * recognise our id, so a repeat never pays twice.
   */
  async submit(
    payout: Payout,
    provider = this.registry.get(payout.provider, payout.environment),
    answerTo?: IdempotencyScope,
    { onProviderAnswered }: { onProviderAnswered?: () => void } = {},
  ): Promise<Payout> {
    let beneficiary: Beneficiary | undefined;
    try {
      // Opened once per provider call, from the row already read; it lives only in this call.
      beneficiary = this.beneficiaries.open(payout.sealedBeneficiary);
      const result = await provider
        .createPayout({
          externalId: payout.id,
          amount: payout.amount,
          beneficiary,
          reference: payout.reference ?? undefined,
          notificationUrl: `${this.publicBaseUrl()}/v1/webhooks/${payout.provider}`,
          debtorAccountId: payout.metadata.debtorAccountId,
          // Every submission of it, the reconciler's resubmissions included, asks for the hold.
          ...(payout.holdOnCreate ? { onHold: true } : {}),
        })
        .finally(onProviderAnswered);
      return await this.applyProviderResult(payout, result, { source: 'create', answerTo });
    } catch (error) {
      return this.recordFailure(payout.id, this.beneficiaries.redact(error, beneficiary), 'create', answerTo);
    }
  }

  async get(id: string): Promise<Payout> {
    const payout = await this.payouts.findById(id);
    if (!payout) throw ApiError.notFound('payout', id);
    return payout;
  }

  /**
   * The id of the payout stored under this Idempotency-Key, or null when none is (the key was
   * never claimed, its claim stored nothing, or it was purged): how a batch row learns whether an
   * attempt of it paid before settling it any other way.
   */
  async payoutIdForKey(idempotency: IdempotencyScope): Promise<string | null> {
    const claim = await this.idempotencyKeys.find(idempotency);
    if (!claim) return null;
    return (await this.payouts.findById(claim.payoutId)) ? claim.payoutId : null;
  }

  async events(id: string): Promise<PayoutHistoryEntry[]> {
    await this.get(id);
    return this.payouts.history(id);
  }

  /**
   * Every payout matching the filters, newest first, a page at a time (keyset pages on the list's
   * indexes): an export of a million rows holds one page in memory, and payouts created while it
   * runs are newer than its first page, so they are never half in it.
   */
  async *exportAll(filter: Omit<PayoutFilter, 'cursor' | 'limit'>): AsyncGenerator<PayoutView> {
    let before: PagePosition | undefined;
    for (;;) {
      const rows = await this.payouts.page({ ...filter, before, limit: EXPORT_PAGE_SIZE });
      const page = rows.slice(0, EXPORT_PAGE_SIZE);
      for (const row of page) yield row.payout;
      const last = page[page.length - 1];
      if (rows.length <= EXPORT_PAGE_SIZE || !last) return;
      before = last.position;
    }
  }

  async list(filter: PayoutFilter): Promise<{ items: PayoutView[]; nextCursor: string | null }> {
    const { cursor, ...query } = filter;
    const rows = await this.payouts.page({ ...query, before: cursor ? decodeCursor(cursor) : undefined });
    const page = rows.slice(0, filter.limit);
    const last = page[page.length - 1];
    return {
      items: page.map((row) => row.payout),
      nextCursor: rows.length > filter.limit && last ? encodeCursor(last.position) : null,
    };
  }

  async operate(id: string, operation: Operation, by: AuditActor = SERVICE_ACTOR): Promise<Payout> {
    const payout = await this.get(id);
    if (payout.status === 'pending_approval') return this.operatePending(payout, operation, by);
    const provider = this.registry.get(payout.provider, payout.environment);
    const capability = CAPABILITY[operation];
    const [group, name] = capability.split('.') as ['payouts', 'cancel' | 'hold' | 'status'];
    if (!provider.capabilities[group][name]) throw unsupported(payout.provider, capability, operation);
    if (operation !== 'sync' && TERMINAL.has(payout.status)) {
      throw new ApiError(
        HttpStatus.CONFLICT,
        'PAYOUT_FINAL',
        `The payout is ${payout.status}; it can no longer be ${operation === 'cancel' ? 'cancelled' : operation === 'hold' ? 'held' : 'released'}.`,
        { status: payout.status },
      );
    }
    const reference = { externalId: payout.id, providerReference: payout.providerReference ?? undefined };
    if (operation === 'sync' && (payout.status === 'requested' || payout.status === 'unknown')) {
      // Whether the provider has it at all is not known: re-submit, which the provider deduplicates.
      return this.submit(payout, provider);
    }
    const call = {
      cancel: () => provider.cancelPayout(reference),
      hold: () => provider.holdPayout(reference),
      release: () => provider.releasePayout(reference),
      sync: () => provider.getPayout(reference),
    }[operation];
    const result = await call();
    const applied = await this.applyProviderResult(payout, result, { source: operation });
    if (operation !== 'sync') {
      // After the provider's answer: the effect is at the provider, outside any transaction of ours.
      await this.audit.record(undefined, {
        action: OPERATION_AUDIT_ACTIONS[operation],
        subjectType: 'payout',
        subjectId: id,
        actor: by,
        detail: { from: payout.status, to: applied.status, providerStatus: applied.providerStatus },
      });
    }
    return applied;
  }

  /**
   * A payout waiting for approval was never sent: a cancel is ours alone (under its row lock, so
   * an approval cannot send it meanwhile), a sync has nothing to ask, hold and release make no sense.
   */
  private async operatePending(payout: Payout, operation: Operation, by: AuditActor): Promise<Payout> {
    if (operation === 'sync') return payout;
    if (operation !== 'cancel') {
      throw new ApiError(
        HttpStatus.CONFLICT,
        ErrorCode.PAYOUT_PENDING_APPROVAL,
        'The payout waits for approval and was not sent yet, so it cannot be held or released; approve, reject or cancel it.',
        { status: payout.status },
      );
    }
    return this.unitOfWork.run(async (transaction) => {
      const locked = await this.payouts.lockById(transaction, payout.id);
      if (!locked) throw ApiError.notFound('payout', payout.id);
      if (locked.payout.status !== 'pending_approval') {
        // Approved (or decided otherwise) meanwhile: out of our hands now; say so instead of guessing.
        throw new ApiError(
          HttpStatus.CONFLICT,
          ErrorCode.CONFLICT,
          `The payout left pending_approval while it was being cancelled (it is ${locked.payout.status} now); look at it and cancel again if it still applies.`,
          { status: locked.payout.status },
        );
      }
      const cancelled = await this.cancelNeverSent(transaction, locked.payout, 'cancelled', {
        source: 'cancel',
        keyId: by.keyId,
      });
      await this.audit.record(transaction, {
        action: 'payout.cancelled',
        subjectType: 'payout',
        subjectId: payout.id,
        actor: by,
        detail: { from: 'pending_approval', to: 'cancelled', neverSent: true },
      });
      return cancelled;
    });
  }

  /**
   * Applies what a provider says about a payout last read as `seen`. Late or reordered reports
   * never move a payout backwards; they are recorded as stale. The outcome is decided from `seen`
   * and committed in one statement if the row is still as seen; otherwise (another writer was
   * faster) it is decided again under a row lock from what is there now.
   */
  async applyProviderResult(seen: Payout, result: ProviderPayout, origin: ReportOrigin): Promise<Payout> {
    const { answerTo } = origin;
    const outcome = this.outcomeOf(seen, result, origin);
    // A report that tells nothing new (the usual answer to a poll) writes nothing while the row is
    // as seen: the row, its indexes and the back-off stay as they are, for the price of a read.
    // Moved meanwhile, it is decided again under the lock (a late report is recorded as stale).
    // A create's answer is stored whatever it says.
    if (!outcome.change && !outcome.history && !answerTo && (await this.payouts.isUnchanged(seen.id, seen)))
      return seen;
    if (outcome.change) {
      const committed = await this.payouts.commitIfUnchanged(seen.id, seen, outcome.change, {
        history: outcome.history ?? undefined,
        events: outcome.announceFrom ? this.movedEvents(outcome.payout, outcome.announceFrom) : undefined,
        answer: answerTo && { scope: answerTo, answer: this.createdAnswer.render(outcome.payout) },
      });
      if (committed) {
        if (outcome.announceFrom) this.countMove(outcome.payout);
        return outcome.payout;
      }
    }
    return this.unitOfWork.run(async (transaction) => {
      const locked = await this.payouts.lockById(transaction, seen.id);
      if (!locked) throw ApiError.notFound('payout', seen.id);
      const { payout, change, history, announceFrom } = this.outcomeOf(locked.payout, result, origin);
      if (change) await this.payouts.updateState(transaction, seen.id, change);
      if (history)
        await this.payouts.appendHistory(
          transaction,
          seen.id,
          history.type,
          history.fromStatus,
          history.toStatus,
          history.detail,
        );
      if (announceFrom) await this.announce(transaction, payout, announceFrom);
      return this.settled(transaction, payout, answerTo);
    });
  }

  /**
   * What a provider's report does to a payout in `current` state: its new state, the columns to
   * write (none for a stale or illegal report, which is only recorded), the history row, and the
   * status it leaves (for payout.status_changed) when it moves.
   */
  private outcomeOf(current: Payout, result: ProviderPayout, origin: ReportOrigin): DecidedOutcome {
    const to = result.state as PayoutStatus;
    const verdict = judgeTransition(current.provider, current.status, to);
    const detail = {
      source: origin.source,
      providerStatus: result.providerStatus,
      providerReference: result.providerReference,
      rejectionCode: result.providerRejectionCode ?? result.rejectionCode,
    };
    if (verdict === 'stale' || verdict === 'illegal') {
      return {
        payout: current,
        change: null,
        history: {
          type: verdict === 'stale' ? 'stale_update' : 'illegal_update',
          fromStatus: current.status,
          toStatus: to,
          detail,
        },
        announceFrom: null,
      };
    }
    const rejected = Boolean(result.rejectionCode || result.rejectionReason);
    const payout: Payout = {
      ...current,
      status: to,
      providerReference: current.providerReference ?? result.providerReference ?? null,
      providerStatus: result.providerStatus,
      failureCode: rejected ? (result.rejectionCode ?? current.failureCode) : current.failureCode,
      failureReason: rejected ? (result.rejectionReason ?? current.failureReason) : current.failureReason,
      fees: result.fees ?? current.fees,
      updatedAt: new Date(),
    };
    const applied = verdict === 'apply';
    // The reconciler's own poll that learns nothing writes nothing (its back-off grows). Any other
    // source (a notification, a hold, cancel or release the provider acknowledged before its
    // status shows it) still brings the next check forward: the provider is about to move.
    const reconciling = origin.reconcilerPoll === true;
    if (!applied && reconciling && reportsNothingNew(current, payout))
      return { payout: current, change: null, history: null, announceFrom: null };
    return {
      payout,
      change: {
        status: to,
        providerReference: payout.providerReference,
        providerStatus: payout.providerStatus,
        failureCode: payout.failureCode,
        failureReason: payout.failureReason,
        fees: payout.fees,
        // A reconciler check schedules the next one itself when it ends (PayoutReconciler.check):
        // its lease stays meanwhile, so a follow-up someone else asks for during it is seen.
        nextCheckAt: TERMINAL.has(to) ? null : reconciling ? undefined : this.nextCheck(0),
        // Something moved at the provider: the back-off starts again.
        checkAttempts: 0,
        updatedAt: payout.updatedAt,
      },
      history: applied ? { type: 'transition', fromStatus: current.status, toStatus: to, detail } : null,
      announceFrom: applied ? current.status : null,
    };
  }

  /** A failed provider call: definite refusals fail the payout; a lost answer makes it unknown. */
  async recordFailure(id: string, error: unknown, source: string, answerTo?: IdempotencyScope): Promise<Payout> {
    const providerError = error instanceof ProviderError ? error : null;
    const unknown = !providerError || providerError.outcomeUnknown || providerError.code === 'PAYOUT_ALREADY_EXISTS';
    if (!providerError)
      this.logger.error(
        { payoutId: id, error: error instanceof Error ? error.message : String(error) },
        'unexpected error while submitting a payout',
      );
    return this.unitOfWork.run(async (transaction) => {
      const locked = await this.payouts.lockById(transaction, id);
      if (!locked) throw ApiError.notFound('payout', id);
      const current = locked.payout;
      // A payout whose earlier send was lost stays unknown whatever this send met: a resubmission
      // refused (an open circuit, a refused connection, a credential, even the provider's own
      // refusal where it checks before it deduplicates) says nothing about the send that may have
      // landed. Only the provider's answer about the payout (a create answered, its status) ends it.
      const stillUnknown = unknown || current.status === 'unknown';
      const to: PayoutStatus = stillUnknown ? 'unknown' : 'failed';
      const detail = {
        source,
        code: providerError?.code ?? 'UNEXPECTED',
        reason: providerError?.reason,
        message: providerError?.message ?? 'unexpected error',
        providerCode: providerError?.providerCode,
      };
      if (current.status !== 'requested' && current.status !== 'unknown') {
        // Already moved on (a webhook or the reconciler was faster): only record the exchange.
        await this.payouts.appendHistory(transaction, id, 'provider_error', current.status, current.status, detail);
        return this.settled(transaction, current, answerTo);
      }
      const from = current.status;
      const payout: Payout = {
        ...current,
        status: to,
        // The finer stable reason when the provider's code names one (BANK_CODE_UNKNOWN), else the domain code.
        failureCode: stillUnknown ? null : (providerError?.reason ?? providerError?.code ?? null),
        failureReason: stillUnknown ? null : (providerError?.message ?? null),
        updatedAt: new Date(),
      };
      await this.payouts.updateState(transaction, id, {
        status: to,
        failureCode: payout.failureCode,
        failureReason: payout.failureReason,
        nextCheckAt: stillUnknown ? this.nextCheck(locked.checkAttempts) : null,
        updatedAt: payout.updatedAt,
      });
      await this.payouts.appendHistory(
        transaction,
        id,
        from === to ? 'provider_error' : 'transition',
        from,
        to,
        detail,
      );
      if (from !== to) await this.announce(transaction, payout, from);
      return this.settled(transaction, payout, answerTo);
    });
  }

  /**
   * Cancels a payout that waited for approval and was never sent (rejected, expired, or cancelled
   * by a caller), with its history row and event, in the caller's transaction on a locked row.
   */
  async cancelNeverSent(
    transaction: Transaction,
    payout: Payout,
    why: NeverSentReason,
    detail: Record<string, unknown>,
  ): Promise<Payout> {
    const cancelled: Payout = {
      ...payout,
      status: 'cancelled',
      failureCode: NEVER_SENT[why].code,
      failureReason: NEVER_SENT[why].reason,
      updatedAt: new Date(),
    };
    await this.payouts.updateState(transaction, payout.id, {
      status: 'cancelled',
      failureCode: cancelled.failureCode,
      failureReason: cancelled.failureReason,
      nextCheckAt: null,
      updatedAt: cancelled.updatedAt,
    });
    await this.payouts.appendHistory(transaction, payout.id, 'transition', payout.status, 'cancelled', {
      ...detail,
      code: NEVER_SENT[why].code,
    });
    await this.announce(transaction, cancelled, payout.status);
    return cancelled;
  }

  /** The events of a payout's move, in the same transaction as the change. */
  announce(transaction: Transaction, payout: Payout, from: PayoutStatus): Promise<void> {
    this.unitOfWork.afterCommit(transaction, () => this.countMove(payout));
    return this.outbound.enqueueAll(transaction, this.movedEvents(payout, from));
  }

  /** payouts_transitions_total, and payouts_finished_total with its time to final for a final status. */
  private countMove(payout: Payout): void {
    this.metrics.payoutMoved(payout, { final: TERMINAL.has(payout.status) });
  }

  /**
   * The events of a payout that left `from`: payout.status_changed always, and the event of its
   * new state when it has one (payout.completed, .failed, .rejected, .cancelled), with the same data.
   */
  private movedEvents(payout: Payout, from: PayoutStatus): OutboxEvent[] {
    const data = this.statusChangedData(payout, from);
    const events = [this.outbound.envelope('payout.status_changed', data)];
    const final = FINAL_PAYOUT_EVENTS[payout.status];
    if (final) events.push(this.outbound.envelope(final, data));
    return events;
  }

  /** payout.created, and payout.pending_approval when it waits for approval: written with the payout. */
  private createdEvents(payout: RequestedPayout): OutboxEvent[] {
    const data = {
      payoutId: payout.id,
      provider: payout.provider,
      environment: payout.environment,
      status: payout.status,
      amount: payout.amount,
      reference: payout.reference,
      beneficiaryId: payout.beneficiaryId,
      createdByKeyId: payout.createdByKeyId,
    };
    const events = [this.outbound.envelope('payout.created', data)];
    if (payout.status === 'pending_approval')
      events.push(
        this.outbound.envelope('payout.pending_approval', {
          ...data,
          approvalsRequired: payout.approvalsRequired,
          approvalExpiresAt: payout.approvalExpiresAt?.toISOString() ?? null,
        }),
      );
    return events;
  }

  private statusChangedData(payout: Payout, from: PayoutStatus): Record<string, unknown> {
    return {
      payoutId: payout.id,
      provider: payout.provider,
      environment: payout.environment,
      from,
      to: payout.status,
      amount: payout.amount,
      reference: payout.reference,
      providerReference: payout.providerReference,
      failure:
        payout.failureCode || payout.failureReason ? { code: payout.failureCode, reason: payout.failureReason } : null,
    };
  }

  /** Stores the answer to the request that created the payout, in the transaction of its outcome. */
  private async settled(transaction: Transaction, payout: Payout, answerTo?: IdempotencyScope): Promise<Payout> {
    if (answerTo) await this.idempotencyKeys.storeAnswer(transaction, answerTo, this.createdAnswer.render(payout));
    return payout;
  }

  nextCheck(attempts: number): Date {
    const base = this.environment.RECONCILE_INTERVAL_MS;
    return new Date(Date.now() + Math.min(base * 2 ** attempts, 5 * 60_000));
  }

  provider(payout: Payout): PayoutProvider {
    return this.registry.get(payout.provider, payout.environment);
  }

  /**
   * While a request or a reconciler is calling the provider about a payout, others leave it alone:
   * long enough for two attempts to time out.
   */
  leaseMs(): number {
    return 2 * (this.environment.PROVIDER_CONNECT_TIMEOUT_MS + this.environment.PROVIDER_RESPONSE_TIMEOUT_MS) + 1_000;
  }

  private publicBaseUrl(): string {
    return (this.environment.PUBLIC_BASE_URL ?? `http://127.0.0.1:${this.environment.PORT}`).replace(/\/+$/, '');
  }

  /**
   * Another request holds this Idempotency-Key. Its stored answer is replayed; while it is still
   * at work, this waits up to IDEMPOTENCY_WAIT_MS and then answers 409 with Retry-After; when its
   * process is gone (its liveness lock released) or its lease ran out, this request takes the claim
   * over and finishes the payout itself: providers deduplicate by our id, so nothing is paid twice.
   */
  private async replay(idempotency: IdempotencyScope, requestHashes: string[]): Promise<CreateOutcome> {
    const deadline = Date.now() + this.environment.IDEMPOTENCY_WAIT_MS;
    for (;;) {
      const record = await this.idempotencyKeys.find(idempotency);
      if (!record)
        throw new ApiError(
          HttpStatus.CONFLICT,
          'IDEMPOTENCY_KEY_EXPIRED',
          'This Idempotency-Key was just purged; send the request again.',
        );
      if (!requestHashes.includes(record.requestHash)) {
        throw new ApiError(
          HttpStatus.UNPROCESSABLE_ENTITY,
          'IDEMPOTENCY_KEY_REUSED',
          'This Idempotency-Key was used with a different request body. Use a new key for a new payout.',
          { payoutId: record.payoutId },
        );
      }
      if (record.answer) return { outcome: 'replayed', answer: record.answer };
      const leaseEnd = (record.leaseUntil ?? new Date(record.createdAt.getTime() + this.leaseMs())).getTime();
      if (await this.firstAttemptGone(record, leaseEnd)) {
        const payout = await this.takeOver(record);
        if (payout) return this.answer(payout, idempotency, this.provider(payout));
        continue; // another retry took it over first: wait for its answer like for any first attempt
      }
      if (Date.now() >= deadline) {
        throw new ApiError(
          HttpStatus.CONFLICT,
          ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS,
          'The first request with this Idempotency-Key is still being processed. Send the same request again after the time in Retry-After to get its answer.',
          { payoutId: record.payoutId },
        ).retryAfter(Math.min(Math.max(leaseEnd - Date.now(), 1_000), 5_000));
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private async firstAttemptGone(record: IdempotencyClaim, leaseEnd: number): Promise<boolean> {
    if (leaseEnd <= Date.now()) return true;
    // Claims written while this process had no liveness lock name no owner: only the lease tells.
    if (record.ownerInstance === null) return false;
    return !(await this.liveness.alive([record.ownerInstance])).has(record.ownerInstance);
  }

  /** Moves the claim to this process if nobody else did meanwhile; returns the payout to finish. */
  private async takeOver(record: IdempotencyClaim): Promise<Payout | null> {
    const taken = await this.unitOfWork.run(async (transaction) => {
      const current = await this.idempotencyKeys.lock(transaction, record);
      if (!current || current.answer !== null || current.ownerInstance !== record.ownerInstance) return false;
      await this.idempotencyKeys.assignOwner(
        transaction,
        record,
        this.liveness.id,
        new Date(Date.now() + this.leaseMs()),
      );
      return true;
    });
    if (!taken) return null;
    this.logger.warn(
      { payoutId: record.payoutId, previousOwner: record.ownerInstance },
      'took over a payout request whose first attempt is gone',
    );
    return this.get(record.payoutId);
  }
}

/**
 * create() stored nothing because the guard of its FirstCommitLink said no (a batch cancelled
 * before its row was sent): the caller settles its own way; the Idempotency-Key stays free.
 */
export class FirstCommitRefused extends Error {
  constructor() {
    super('the payout was not stored: its linked write refused it');
  }
}

/**
 * Whether `reported` (a payout as a provider's report left it) has every column such a report
 * writes as it is in `current`: the status, the provider's reference and status, the failure and
 * the fees.
 */
export function reportsNothingNew(current: Payout, reported: Payout): boolean {
  return (
    reported.status === current.status &&
    reported.providerReference === current.providerReference &&
    reported.providerStatus === current.providerStatus &&
    reported.failureCode === current.failureCode &&
    reported.failureReason === current.failureReason &&
    reported.fees?.amount === current.fees?.amount &&
    reported.fees?.currency === current.fees?.currency
  );
}

/** A provider outcome decided from a payout's state (see PayoutsService.outcomeOf). */
interface DecidedOutcome {
  payout: Payout;
  change: (PayoutStateChange & { updatedAt: Date }) | null;
  history: OutcomeEffects['history'] | null;
  announceFrom: PayoutStatus | null;
}

/** What a provider environment that cannot take a create is refused with, before anything is stored. */
/** A provider environment that cannot take a create now (the operator fixes it; nothing is stored meanwhile). */
export const NOT_READY_CODES: ReadonlySet<ProviderErrorCode> = new Set<ProviderErrorCode>([
  'PROVIDER_NOT_CONFIGURED',
  'CREDENTIAL_MISSING',
  'CREDENTIAL_EXPIRED',
  'CREDENTIAL_REVOKED',
  'OAUTH_AUTHORIZATION_REQUIRED',
]);

/** Why the provider environment cannot take a create now, or null when it can. */
async function notReadyToCreate(provider: PayoutProvider): Promise<ProviderError | null> {
  try {
    await provider.assertReadyToCreate();
    return null;
  } catch (error) {
    if (error instanceof ProviderError && NOT_READY_CODES.has(error.code)) return error;
    throw error;
  }
}

/** 409 with the provider's code and sentence (what to fix), naming the provider environment. */
function refusedBeforeStoring(error: ProviderError, input: NewPayout): ApiError {
  return new ApiError(
    HttpStatus.CONFLICT,
    error.code,
    `${error.message} No payout was created: once this is fixed, send the same request with the same Idempotency-Key again.`,
    { provider: input.provider, environment: input.environment },
  );
}

/** Why a payout that waited for approval was cancelled: its failure code and sentence. */
const NEVER_SENT = {
  rejected: { code: 'APPROVAL_REJECTED', reason: 'An approver rejected the payout; it was never sent.' },
  expired: {
    code: 'APPROVAL_EXPIRED',
    reason: 'Nobody approved the payout before its deadline; it was cancelled, never sent.',
  },
  cancelled: {
    code: 'CANCELLED_BEFORE_APPROVAL',
    reason: 'The payout was cancelled while it waited for approval; it was never sent.',
  },
} as const;
export type NeverSentReason = keyof typeof NEVER_SENT;

/** Rows an export reads per query: big enough to amortise the round trip, small enough to keep memory flat. */
const EXPORT_PAGE_SIZE = 500;

/** How long a governed payout waits for its policies' locks before 503 DATABASE_BUSY. */
const POLICY_LOCK_TIMEOUT_MS = 5_000;

const LIMIT_CODES = {
  maxAmountPerPayout: ErrorCode.PAYOUT_LIMIT_PER_PAYOUT,
  rolling24hAmount: ErrorCode.PAYOUT_LIMIT_ROLLING_AMOUNT,
  rolling24hCount: ErrorCode.PAYOUT_LIMIT_ROLLING_COUNT,
} as const;

/** 422 naming the limit, the policy and the headroom left; nothing was stored and the key is free. */
function limitBreached(breach: LimitBreach): ApiError {
  const { scope } = breach.policy;
  const where = [scope.currency, scope.provider, scope.environment, scope.apiKeyId && `key ${scope.apiKeyId}`]
    .filter(Boolean)
    .join(', ');
  const currency = scope.currency;
  const sentence = {
    maxAmountPerPayout: `The payout is over the most one payout may be (${breach.max} ${currency}, policy for ${where}).`,
    rolling24hAmount: `The payout would take the last 24 hours' total over ${breach.max} ${currency} (policy for ${where}); ${breach.headroom} ${currency} can still be paid out now.`,
    rolling24hCount: `The payout would be more than ${breach.max} payouts in 24 hours (policy for ${where}); ${breach.headroom} more can be made now.`,
  }[breach.limit];
  return new ApiError(
    HttpStatus.UNPROCESSABLE_ENTITY,
    LIMIT_CODES[breach.limit],
    `${sentence} No payout was created; send a smaller one, wait for the window to move, or change the policy.`,
    {
      limit: breach.limit,
      policyId: breach.policy.id,
      max: breach.max,
      used: breach.used,
      headroom: breach.headroom,
      currency,
    },
  );
}

/** The same code the provider port raises for a missing capability, so a client branches on one code for one condition. */
function unsupported(provider: Provider, capability: Capability, operation?: string): ApiError {
  return new ApiError(
    HttpStatus.CONFLICT,
    ErrorCode.CAPABILITY_NOT_SUPPORTED,
    `${provider} does not support ${operation ?? capability} (${capability}).`,
    { provider, capability },
  );
}

/** `<created_at in µs since the epoch>|<id>`: exact, see PagePosition. */
function encodeCursor(position: PagePosition): string {
  return Buffer.from(`${position.createdAtMicros}|${position.id}`).toString('base64url');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A cursor this API gave out. Cursors given out before positions were exact (`<ISO date>|<id>`,
 * milliseconds) are still read, as the millisecond they name, so a client paging across a deploy
 * is not refused.
 */
function decodeCursor(cursor: string): PagePosition {
  const [at = '', id, extra] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const micros = /^\d{1,17}$/.test(at) ? at : legacyCursorMicros(at);
  // Checked here, not by PostgreSQL: a malformed id would otherwise fail the query (500).
  if (!id || extra !== undefined || !UUID.test(id) || micros === null) {
    throw ApiError.validation([
      { field: 'cursor', code: 'INVALID_CURSOR', message: 'is not a cursor this API returned; start again without it' },
    ]);
  }
  return { createdAtMicros: micros, id };
}

/** The microseconds of an ISO date from an old cursor, or null when it is not one. */
function legacyCursorMicros(at: string): string | null {
  const date = new Date(at);
  if (!/^\d{4}-/.test(at) || Number.isNaN(date.getTime()) || date.getTime() < 0) return null;
  return String(date.getTime() * 1000);
}

/**
 * A stored beneficiary was checked by its provider's rules when stored, but not against this
 * payout's currency, nor against rules added since: both are checked as for an inline one.
 */
function refuseStoredBeneficiary(beneficiary: Beneficiary, input: NewPayout): void {
  const problems = providerRuleProblems(descriptorOf(input.provider), beneficiary, { currency: input.amount.currency });
  if (problems.length === 0) return;
  throw ApiError.validation(
    problems.map((problem) =>
      problem.field === 'currency'
        ? problem
        : {
            field: 'beneficiaryId',
            code: problem.code,
            message: `names a stored beneficiary whose ${problem.field} ${problem.message}; disable it (POST /v1/beneficiaries/{id}/disable), store the corrected one and pay that`,
          },
    ),
  );
}
