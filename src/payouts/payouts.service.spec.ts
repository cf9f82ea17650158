import type { AuditTrail } from '../audit/audit-trail';
import { Metrics } from '../observability/metrics';
import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { Environment } from '../config/environment';
import { masterKeyFromBase64, MasterKeyring } from '../credentials/crypto/master-keyring';
import type { InstanceLiveness } from '../database/instance-liveness';
import type { Transaction, UnitOfWork } from '../database/unit-of-work';
import type { EventType, OutboundEvents, OutboxEvent } from '../events/outbound-events.service';
import type { Capabilities, PayoutInstruction, ProviderPayout } from '../providers/provider.port';
import { PayoutProvider, ProviderError, type Beneficiary } from '../providers/provider.port';
import type { ProviderRegistry } from '../providers/provider.registry';
import { PayoutBeneficiaries, SealedBeneficiary } from './beneficiary/payout-beneficiaries';
import type { CreatedPayoutAnswer, IdempotencyClaim, IdempotencyScope, StoredAnswer } from './domain/idempotency';
import type { Payout } from './domain/payout';
import type { PayoutHistoryEntry } from './domain/payout-history';
import type { IdempotencyKeysRepository, NewClaim } from './persistence/idempotency-keys.repository';
import type {
  LockedPayout,
  OutcomeBasis,
  OutcomeEffects,
  PayoutOutboxEvent,
  PayoutPageQuery,
  PayoutsRepository,
  PayoutStateChange,
  RequestedPayout,
  ClaimResult,
  PagePosition,
} from './persistence/payouts.repository';
import type { NewPayout } from './payouts.service';
import { PayoutsService, RECONCILER_POLL } from './payouts.service';

/**
 * PayoutsService's rules against in-memory repositories. The fakes are strict: a statement outside
 * a transaction, or on a transaction that has ended, throws; a failed transaction rolls back
 * everything written in it. The database behaviour itself (locks, SQL) is proven by the
 * integration suites under test/payouts on PostgreSQL.
 */

/** Everything the fakes hold, with snapshot/restore for rollback. */
class Tables {
  payouts = new Map<string, { payout: Payout; checkAttempts: number; nextCheckAt: Date | null }>();
  history: Array<PayoutHistoryEntry & { payoutId: string }> = [];
  claims = new Map<string, IdempotencyClaim>();
  outbox: Array<{ type: string; data: Record<string, unknown> }> = [];

  snapshot(): () => void {
    const payouts = new Map(this.payouts);
    const history = [...this.history];
    const claims = new Map(this.claims);
    const outbox = [...this.outbox];
    return () => {
      this.payouts = payouts;
      this.history = history;
      this.claims = claims;
      this.outbox = outbox;
    };
  }
}

class FakeUnitOfWork implements Pick<UnitOfWork, 'run' | 'afterCommit'> {
  commits = 0;
  private readonly open = new Set<Transaction>();
  private readonly effects = new Map<Transaction, Array<() => void>>();

  constructor(private readonly tables: Tables) {}

  async run<T>(work: (transaction: Transaction) => Promise<T>): Promise<T> {
    const transaction = { name: `tx${this.commits}` } as unknown as Transaction;
    const rollback = this.tables.snapshot();
    this.open.add(transaction);
    this.effects.set(transaction, []);
    try {
      const result = await work(transaction);
      this.commits += 1;
      for (const effect of this.effects.get(transaction) ?? []) effect();
      return result;
    } catch (error) {
      rollback();
      throw error;
    } finally {
      this.open.delete(transaction);
      this.effects.delete(transaction);
    }
  }

  afterCommit(transaction: Transaction, effect: () => void): void {
    const effects = this.effects.get(transaction);
    if (effects) effects.push(effect);
    else effect();
  }

  check(transaction: Transaction): void {
    if (!this.open.has(transaction)) throw new Error('statement on a transaction that is not open');
  }
}

class FakePayouts implements Pick<
  PayoutsRepository,
  | 'claimAndInsertRequested'
  | 'findById'
  | 'lockById'
  | 'updateState'
  | 'commitIfUnchanged'
  | 'isUnchanged'
  | 'page'
  | 'appendHistory'
  | 'history'
> {
  constructor(
    private readonly tables: Tables,
    private readonly unitOfWork: FakeUnitOfWork,
    private readonly keys: FakeIdempotencyKeys,
  ) {}

  /** One statement, so one commit: claim, payout and history together, or nothing when the key is taken. */
  async claimAndInsertRequested(
    scope: IdempotencyScope,
    claim: NewClaim,
    input: RequestedPayout,
    history: Record<string, unknown>,
    options: { events: readonly PayoutOutboxEvent[] },
  ): Promise<ClaimResult> {
    // No payout policies in this spec (they are covered by test/payouts/payout-controls.spec.ts, on PostgreSQL).
    return this.unitOfWork.run(async (transaction) => {
      if (!(await this.keys.claim(transaction, scope, claim))) return { outcome: 'taken' };
      const payout = await this.insertRequested(transaction, input);
      await this.appendHistory(transaction, input.id, 'created', null, 'requested', history);
      this.tables.outbox = [
        ...this.tables.outbox,
        ...options.events.map((event) => ({ type: event.type, data: event.payload.data as Record<string, unknown> })),
      ];
      return { outcome: 'inserted', payout };
    });
  }

  async insertRequested(transaction: Transaction, input: RequestedPayout): Promise<Payout> {
    this.unitOfWork.check(transaction);
    if (this.tables.payouts.has(input.id)) throw new Error(`duplicate key ${input.id}`);
    const now = new Date();
    const payout: Payout = {
      id: input.id,
      provider: input.provider,
      environment: input.environment,
      status: 'requested',
      amount: input.amount,
      beneficiary: input.beneficiary.beneficiary,
      sealedBeneficiary: SealedBeneficiary.fromRow({ id: input.id, ...input.beneficiary }),
      reference: input.reference,
      metadata: input.metadata,
      providerReference: null,
      providerStatus: null,
      failureCode: null,
      failureReason: null,
      fees: null,
      createdAt: now,
      updatedAt: now,
      createdByKeyId: input.createdByKeyId,
      approvalsRequired: 0,
      approvalExpiresAt: null,
      holdOnCreate: input.holdOnCreate,
    };
    this.tables.payouts = new Map(this.tables.payouts).set(input.id, {
      payout,
      checkAttempts: 0,
      nextCheckAt: input.nextCheckAt,
    });
    return payout;
  }

  async findById(id: string): Promise<Payout | null> {
    return this.tables.payouts.get(id)?.payout ?? null;
  }

  async lockById(transaction: Transaction, id: string): Promise<LockedPayout | null> {
    this.unitOfWork.check(transaction);
    const row = this.tables.payouts.get(id);
    return row ? { payout: row.payout, checkAttempts: row.checkAttempts } : null;
  }

  async updateState(transaction: Transaction, id: string, change: PayoutStateChange): Promise<void> {
    this.unitOfWork.check(transaction);
    const row = this.tables.payouts.get(id);
    if (!row) throw new Error(`no payout ${id}`);
    const { nextCheckAt, checkAttempts, ...columns } = change;
    const defined = Object.fromEntries(Object.entries(columns).filter(([, value]) => value !== undefined));
    this.tables.payouts = new Map(this.tables.payouts).set(id, {
      payout: { ...row.payout, ...defined, updatedAt: new Date() },
      checkAttempts: checkAttempts ?? row.checkAttempts,
      nextCheckAt: nextCheckAt === undefined ? row.nextCheckAt : nextCheckAt,
    });
  }

  /** One statement, so one commit: nothing unless every basis column is still as read. */
  async commitIfUnchanged(
    id: string,
    basis: OutcomeBasis,
    change: PayoutStateChange & { updatedAt: Date },
    effects: OutcomeEffects,
  ): Promise<boolean> {
    return this.unitOfWork.run(async (transaction) => {
      if (!(await this.isUnchanged(id, basis))) return false;
      await this.updateState(transaction, id, change);
      const { history, events = [], answer } = effects;
      if (history)
        await this.appendHistory(transaction, id, history.type, history.fromStatus, history.toStatus, history.detail);
      this.tables.outbox = [
        ...this.tables.outbox,
        ...events.map((event) => ({ type: event.type, data: event.payload.data as Record<string, unknown> })),
      ];
      if (answer) await this.keys.storeAnswer(transaction, answer.scope, answer.answer);
      return true;
    });
  }

  /** Every basis column still as read. */
  async isUnchanged(id: string, basis: OutcomeBasis): Promise<boolean> {
    const current = this.tables.payouts.get(id)?.payout;
    const columns = ['status', 'providerReference', 'providerStatus', 'failureCode', 'failureReason'] as const;
    return (
      current !== undefined &&
      columns.every((column) => current[column] === basis[column]) &&
      JSON.stringify(current.fees) === JSON.stringify(basis.fees)
    );
  }

  async page(query: PayoutPageQuery): Promise<Array<{ payout: Payout; position: PagePosition }>> {
    return [...this.tables.payouts.values()]
      .map((row) => row.payout)
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.id.localeCompare(a.id))
      .slice(0, query.limit + 1)
      .map((payout) => ({
        payout,
        position: { createdAtMicros: String(payout.createdAt.getTime() * 1000), id: payout.id },
      }));
  }

  async appendHistory(
    transaction: Transaction,
    payoutId: string,
    type: string,
    fromStatus: string | null,
    toStatus: string | null,
    detail: Record<string, unknown>,
  ): Promise<void> {
    this.unitOfWork.check(transaction);
    this.tables.history = [
      ...this.tables.history,
      {
        id: String(this.tables.history.length + 1),
        payoutId,
        type,
        fromStatus,
        toStatus,
        detail,
        occurredAt: new Date(),
      },
    ];
  }

  async history(payoutId: string): Promise<PayoutHistoryEntry[]> {
    return this.tables.history.filter((entry) => entry.payoutId === payoutId);
  }
}

const keyOf = (scope: IdempotencyScope) => `${scope.apiKeyId}|${scope.key}`;

class FakeIdempotencyKeys implements Pick<
  IdempotencyKeysRepository,
  'find' | 'lock' | 'assignOwner' | 'storeAnswer' | 'releaseUnanswered'
> {
  constructor(
    private readonly tables: Tables,
    private readonly unitOfWork: FakeUnitOfWork,
  ) {}

  async claim(transaction: Transaction, scope: IdempotencyScope, claim: NewClaim): Promise<boolean> {
    this.unitOfWork.check(transaction);
    if (this.tables.claims.has(keyOf(scope))) return false;
    this.put({
      ...scope,
      requestHash: claim.requestHash,
      payoutId: claim.payoutId,
      answer: null,
      ownerInstance: claim.ownerInstance,
      leaseUntil: new Date(Date.now() + claim.leaseMs),
      createdAt: new Date(),
    });
    return true;
  }

  async find(scope: IdempotencyScope): Promise<IdempotencyClaim | null> {
    return this.tables.claims.get(keyOf(scope)) ?? null;
  }

  async lock(transaction: Transaction, scope: IdempotencyScope): Promise<IdempotencyClaim | null> {
    this.unitOfWork.check(transaction);
    return this.find(scope);
  }

  async assignOwner(
    transaction: Transaction,
    scope: IdempotencyScope,
    ownerInstance: number | null,
    leaseUntil: Date,
  ): Promise<void> {
    this.unitOfWork.check(transaction);
    this.put({ ...this.existing(scope), ownerInstance, leaseUntil });
  }

  async storeAnswer(transaction: Transaction, scope: IdempotencyScope, answer: StoredAnswer): Promise<void> {
    this.unitOfWork.check(transaction);
    // As in jsonb: what is stored is the JSON of the answer, not the object the service holds.
    this.put({
      ...this.existing(scope),
      answer: { status: answer.status, body: JSON.parse(JSON.stringify(answer.body)) },
    });
  }

  async releaseUnanswered(scope: IdempotencyScope): Promise<void> {
    const claim = this.existing(scope);
    if (claim.answer === null) this.put({ ...claim, leaseUntil: new Date(0) });
  }

  private existing(scope: IdempotencyScope): IdempotencyClaim {
    const claim = this.tables.claims.get(keyOf(scope));
    if (!claim) throw new Error(`no claim for ${keyOf(scope)}`);
    return claim;
  }

  private put(claim: IdempotencyClaim): void {
    this.tables.claims = new Map(this.tables.claims).set(keyOf(claim), claim);
  }
}

class FakeOutbox implements Pick<OutboundEvents, 'enqueue' | 'enqueueAll' | 'envelope'> {
  constructor(
    private readonly tables: Tables,
    private readonly unitOfWork: FakeUnitOfWork,
  ) {}

  envelope(type: EventType, data: Record<string, unknown>): OutboxEvent {
    return { type, payload: { type, data } };
  }

  async enqueue(transaction: Transaction, type: EventType, data: Record<string, unknown>): Promise<void> {
    await this.enqueueAll(transaction, [this.envelope(type, data)]);
  }

  async enqueueAll(transaction: Transaction, events: readonly OutboxEvent[]): Promise<void> {
    this.unitOfWork.check(transaction);
    this.tables.outbox = [
      ...this.tables.outbox,
      ...events.map((event) => ({ type: event.type, data: event.payload.data as Record<string, unknown> })),
    ];
  }
}

/** A provider whose answers the test decides, recording what it was sent. */
class ScriptedProvider extends PayoutProvider {
  readonly provider = 'd24' as const;
  readonly environment = 'simulator' as const;
  readonly capabilities: Capabilities = {
    payouts: { create: true, status: true, cancel: true, hold: false },
    accounts: { list: false, balance: false, transactions: false },
    webhooks: { verify: false },
  };
  readonly sent: PayoutInstruction[] = [];
  /** What assertReadyToCreate says: ready (resolves) unless a test sets a refusal. */
  notReady: ProviderError | null = null;
  onCreate: (instruction: PayoutInstruction) => Promise<ProviderPayout> = async () => ({
    state: 'pending',
    providerStatus: 'PENDING',
    providerReference: '8405150',
  });

  assertReadyToCreate(): Promise<void> {
    return this.notReady ? Promise.reject(this.notReady) : Promise.resolve();
  }

  createPayout(instruction: PayoutInstruction): Promise<ProviderPayout> {
    this.sent.push(instruction);
    return this.onCreate(instruction);
  }

  getPayout(): Promise<ProviderPayout> {
    return Promise.resolve({ state: 'pending', providerStatus: 'PENDING' });
  }
}

const beneficiary: Beneficiary = {
  type: 'latam_bank_account',
  country: 'BR',
  name: 'José',
  documentId: '84932568207',
  documentType: 'CPF',
  bankCode: 341,
  bankBranch: '0001',
  bankAccount: '123456789',
};
const newPayout = (amount = '10.00'): NewPayout => ({
  provider: 'd24',
  environment: 'simulator',
  amount: { amount, currency: 'BRL' },
  beneficiary,
});

function setUp(options: { alive?: number[]; idempotencyWaitMs?: number } = {}) {
  const tables = new Tables();
  const unitOfWork = new FakeUnitOfWork(tables);
  const provider = new ScriptedProvider();
  const keyring = new MasterKeyring(masterKeyFromBase64(randomBytes(32).toString('base64')));
  const answer: CreatedPayoutAnswer = {
    render: (payout) => ({
      status: 201,
      body: { id: payout.id, status: payout.status, beneficiary: payout.beneficiary, sealed: payout.sealedBeneficiary },
    }),
  };
  const environment = {
    RECONCILE_INTERVAL_MS: 1_000,
    PROVIDER_CONNECT_TIMEOUT_MS: 100,
    PROVIDER_RESPONSE_TIMEOUT_MS: 100,
    IDEMPOTENCY_WAIT_MS: options.idempotencyWaitMs ?? 2_000,
    PORT: 3000,
  } as unknown as Environment;
  const liveness = {
    id: 7,
    alive: async (ids: number[]) => new Set(ids.filter((id) => (options.alive ?? [7]).includes(id))),
  } as unknown as InstanceLiveness;
  const keys = new FakeIdempotencyKeys(tables, unitOfWork);
  const service = new PayoutsService(
    unitOfWork as unknown as UnitOfWork,
    new FakePayouts(tables, unitOfWork, keys) as unknown as PayoutsRepository,
    keys as unknown as IdempotencyKeysRepository,
    answer,
    { get: () => provider } as unknown as ProviderRegistry,
    environment,
    new FakeOutbox(tables, unitOfWork) as unknown as OutboundEvents,
    liveness,
    new PayoutBeneficiaries(keyring),
    // Stored beneficiaries are covered by test/payouts/stored-beneficiaries.spec.ts, on the real module.
    { openForPayout: () => Promise.reject(new Error('no stored beneficiaries in this spec')) },
    keyring,
    {
      lockGoverning: () => Promise.reject(new Error('no payout policies in this spec')),
      list: () => Promise.reject(new Error('no payout policies in this spec')),
    },
    { record: async () => undefined } as unknown as AuditTrail,
    new Metrics(),
  );
  return { service, tables, unitOfWork, provider, answer };
}

const scope: IdempotencyScope = { apiKeyId: '5b0a1b0e-3f3c-4f7e-9d55-6f2b7c1d9e01', key: 'key-1' };

describe('PayoutsService rules (in-memory repositories)', () => {
  // Some cases log on purpose (an unexpected error, a takeover); the assertions are on the tables.
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn', 'debug', 'verbose']));

  it('commits the payout before calling the provider, then stores the answer with the outcome: two transactions', async () => {
    const { service, tables, unitOfWork, provider } = setUp();
    provider.onCreate = async (instruction) => {
      // At the provider call, the payout and its claim are committed and nothing else yet.
      expect(tables.payouts.get(instruction.externalId)?.payout.status).toBe('requested');
      expect(tables.claims.get(keyOf(scope))?.answer).toBeNull();
      expect(unitOfWork.commits).toBe(1);
      return { state: 'pending', providerStatus: 'PENDING', providerReference: '8405150' };
    };
    const result = await service.create(newPayout(), scope);
    if (result.outcome !== 'created') throw new Error(`expected created, got ${result.outcome}`);
    expect(result.payout).toMatchObject({ status: 'pending', providerReference: '8405150', providerStatus: 'PENDING' });
    expect(provider.sent).toHaveLength(1);
    expect(provider.sent[0].beneficiary).toEqual(beneficiary);
    expect(unitOfWork.commits).toBe(2);
    expect(tables.claims.get(keyOf(scope))?.answer).toEqual({
      status: 201,
      body: { id: result.payout.id, status: 'pending', beneficiary: result.payout.beneficiary, sealed: '[sealed]' },
    });
    expect(tables.history.map((entry) => [entry.type, entry.fromStatus, entry.toStatus])).toEqual([
      ['created', null, 'requested'],
      ['transition', 'requested', 'pending'],
    ]);
    expect(tables.outbox).toEqual([
      {
        type: 'payout.created',
        data: expect.objectContaining({ payoutId: result.payout.id, status: 'requested', amount: newPayout().amount }),
      },
      {
        type: 'payout.status_changed',
        data: expect.objectContaining({ payoutId: result.payout.id, from: 'requested', to: 'pending' }),
      },
    ]);
  });

  it('replays the stored answer for the same key and body, without a second provider call', async () => {
    const { service, provider } = setUp();
    const first = await service.create(newPayout(), scope);
    const again = await service.create(newPayout(), scope);
    expect(again).toEqual({
      outcome: 'replayed',
      answer: {
        status: 201,
        body: expect.objectContaining({
          id: first.outcome === 'created' ? first.payout.id : 'none',
          status: 'pending',
        }),
      },
    });
    expect(provider.sent).toHaveLength(1);
  });

  it('refuses the same key with another body (422 IDEMPOTENCY_KEY_REUSED), naming the first payout', async () => {
    const { service, provider } = setUp();
    const first = await service.create(newPayout('10.00'), scope);
    await expect(service.create(newPayout('11.00'), scope)).rejects.toMatchObject({
      status: 422,
      code: 'IDEMPOTENCY_KEY_REUSED',
      details: { payoutId: first.outcome === 'created' ? first.payout.id : 'none' },
    });
    expect(provider.sent).toHaveLength(1);
  });

  it('fails the payout on a definite refusal and makes it unknown (with a check due) when the answer was lost', async () => {
    const { service, tables, provider } = setUp();
    provider.onCreate = () =>
      Promise.reject(new ProviderError('INSUFFICIENT_FUNDS', 'Not enough balance.', { providerCode: 401 }));
    const refused = await service.create(newPayout(), scope);
    expect(refused).toMatchObject({
      outcome: 'created',
      payout: { status: 'failed', failureCode: 'INSUFFICIENT_FUNDS', failureReason: 'Not enough balance.' },
    });
    const refusedId = refused.outcome === 'created' ? refused.payout.id : '';
    expect(tables.payouts.get(refusedId)?.nextCheckAt).toBeNull();

    provider.onCreate = () =>
      Promise.reject(new ProviderError('PROVIDER_TIMEOUT', 'No answer.', { outcomeUnknown: true }));
    const lost = await service.create(newPayout(), { ...scope, key: 'key-2' });
    expect(lost).toMatchObject({ outcome: 'created', payout: { status: 'unknown', failureCode: null } });
    const lostId = lost.outcome === 'created' ? lost.payout.id : '';
    expect(tables.payouts.get(lostId)?.nextCheckAt?.getTime()).toBeGreaterThan(Date.now());
    expect(tables.outbox.map((event) => [event.type, event.data.to])).toEqual([
      ['payout.created', undefined],
      ['payout.status_changed', 'failed'],
      ['payout.failed', 'failed'],
      ['payout.created', undefined],
      ['payout.status_changed', 'unknown'],
    ]);

    // Sent again (as the reconciler does) and refused before it left: the first send may have
    // landed, so the payout stays unknown, with its next check, and nothing is announced.
    provider.onCreate = () =>
      Promise.reject(new ProviderError('CIRCUIT_OPEN', 'd24 simulator is failing.', { retryable: true }));
    const lostPayout = lost.outcome === 'created' ? lost.payout : undefined;
    if (!lostPayout) throw new Error('expected the lost payout');
    const resent = await service.submit(lostPayout);
    expect(resent).toMatchObject({ status: 'unknown', failureCode: null, failureReason: null });
    expect(tables.payouts.get(lostId)?.nextCheckAt?.getTime()).toBeGreaterThan(Date.now());
    expect(tables.outbox).toHaveLength(5);
  });

  it('refuses with 409 before storing anything when the provider environment has no credential in service; the key stays free', async () => {
    const { service, tables, unitOfWork, provider } = setUp();
    provider.notReady = new ProviderError(
      'CREDENTIAL_MISSING',
      'No api_keys credential is in service for d24 simulator.',
    );
    await expect(service.create(newPayout(), scope)).rejects.toMatchObject({
      status: 409,
      code: 'CREDENTIAL_MISSING',
      message: expect.stringContaining('No api_keys credential is in service for d24 simulator.'),
      details: { provider: 'd24', environment: 'simulator' },
    });
    expect([tables.payouts.size, tables.history, tables.outbox, tables.claims.size]).toEqual([0, [], [], 0]);
    expect([unitOfWork.commits, provider.sent]).toEqual([0, []]);

    // Once the credential is there, the same key and body create the payout.
    provider.notReady = null;
    const created = await service.create(newPayout(), scope);
    expect(created).toMatchObject({ outcome: 'created', payout: { status: 'pending' } });
    expect(provider.sent).toHaveLength(1);
  });

  it('replays a key answered before the credential went away; a new key is refused', async () => {
    const { service, provider } = setUp();
    const first = await service.create(newPayout(), scope);
    provider.notReady = new ProviderError('CREDENTIAL_REVOKED', 'The d24 simulator api_keys credential was revoked.');
    const again = await service.create(newPayout(), scope);
    expect(again).toMatchObject({
      outcome: 'replayed',
      answer: { status: 201, body: { id: first.outcome === 'created' ? first.payout.id : 'none' } },
    });
    await expect(service.create(newPayout(), { ...scope, key: 'key-2' })).rejects.toMatchObject({
      status: 409,
      code: 'CREDENTIAL_REVOKED',
    });
    expect(provider.sent).toHaveLength(1);
  });

  it('keeps the race as it was: a credential revoked between the check and the call fails the stored payout', async () => {
    const { service, provider } = setUp();
    provider.onCreate = () => Promise.reject(new ProviderError('CREDENTIAL_REVOKED', 'Revoked meanwhile.'));
    const raced = await service.create(newPayout(), scope);
    expect(raced).toMatchObject({
      outcome: 'created',
      payout: { status: 'failed', failureCode: 'CREDENTIAL_REVOKED', failureReason: 'Revoked meanwhile.' },
    });
  });

  it('rolls the outcome back and releases the claim at once when storing the answer fails', async () => {
    const { service, tables, unitOfWork, provider, answer } = setUp();
    const realRender = answer.render;
    answer.render = () => {
      throw new Error('render failed');
    };
    await expect(service.create(newPayout(), scope)).rejects.toThrow('render failed');
    const claim = tables.claims.get(keyOf(scope));
    expect(claim?.answer).toBeNull();
    expect(claim?.leaseUntil?.getTime()).toBe(0);
    const payout = tables.payouts.get(claim?.payoutId ?? '')?.payout;
    // The transition and its events were in the failed transaction: the payout is still requested,
    // announced only as created (the first commit).
    expect(payout?.status).toBe('requested');
    expect(tables.outbox.map((event) => event.type)).toEqual(['payout.created']);
    expect(unitOfWork.commits).toBe(1);

    // A retry takes the released claim over (its owner is alive, but its lease is over) and finishes it.
    answer.render = realRender;
    const retried = await service.create(newPayout(), scope);
    expect(retried).toMatchObject({ outcome: 'created', payout: { id: claim?.payoutId, status: 'pending' } });
    expect(provider.sent.map((instruction) => instruction.externalId)).toEqual([claim?.payoutId, claim?.payoutId]);
  });

  it('takes over a claim whose process is gone, and answers 409 IDEMPOTENCY_KEY_IN_PROGRESS while it lives', async () => {
    const stuck = setUp({ alive: [], idempotencyWaitMs: 100 });
    // A first attempt by process 3 that never answered (claim and payout committed, nothing more).
    stuck.provider.onCreate = () => new Promise(() => undefined);
    void stuck.service.create(newPayout(), scope);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const claim = stuck.tables.claims.get(keyOf(scope)) as IdempotencyClaim;
    stuck.tables.claims.set(keyOf(scope), { ...claim, ownerInstance: 3 });
    stuck.provider.onCreate = async () => ({ state: 'pending', providerStatus: 'PENDING', providerReference: '1' });
    const taken = await stuck.service.create(newPayout(), scope);
    expect(taken).toMatchObject({ outcome: 'created', payout: { id: claim.payoutId, status: 'pending' } });
    expect(stuck.tables.claims.get(keyOf(scope))?.ownerInstance).toBe(7);

    const busy = setUp({ alive: [3, 7], idempotencyWaitMs: 100 });
    busy.provider.onCreate = () => new Promise(() => undefined);
    void busy.service.create(newPayout(), scope);
    await new Promise((resolve) => setTimeout(resolve, 20));
    busy.tables.claims.set(keyOf(scope), {
      ...(busy.tables.claims.get(keyOf(scope)) as IdempotencyClaim),
      ownerInstance: 3,
    });
    await expect(busy.service.create(newPayout(), scope)).rejects.toMatchObject({
      status: 409,
      code: 'IDEMPOTENCY_KEY_IN_PROGRESS',
    });
  });

  it('records a late report as stale and leaves the payout where it is', async () => {
    const { service, tables } = setUp();
    const created = await service.create(newPayout(), scope);
    const id = created.outcome === 'created' ? created.payout.id : '';
    const seen = await service.get(id);
    await service.applyProviderResult(seen, { state: 'completed', providerStatus: 'COMPLETED' }, { source: 'webhook' });
    const outboxBefore = tables.outbox.length;
    // Decided from a stale read: the compare-and-set finds the row moved on and decides again under the lock.
    const after = await service.applyProviderResult(
      seen,
      { state: 'pending', providerStatus: 'PENDING' },
      RECONCILER_POLL,
    );
    expect(after.status).toBe('completed');
    expect(tables.history.at(-1)).toMatchObject({ type: 'stale_update', fromStatus: 'completed', toStatus: 'pending' });
    expect(tables.outbox).toHaveLength(outboxBefore);
    expect(tables.payouts.get(id)?.nextCheckAt).toBeNull();
  });
});
