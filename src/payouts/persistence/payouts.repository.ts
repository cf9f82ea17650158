import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type Repository } from 'typeorm';
import { EntityRows } from '../../database/entity-rows';
import { runPrepared, type StatementRunner } from '../../database/prepared-statements';
import type { Transaction } from '../../database/unit-of-work';
import type { Money, Provider, ProviderEnvironment } from '../../providers/provider.port';
import type { BeneficiaryColumns } from '../beneficiary/payout-beneficiaries';
import type { Payout, PayoutStatus, PayoutView } from '../domain/payout';
import type { PolicyScope } from '../domain/payout-controls';
import type { PayoutHistoryEntry } from '../domain/payout-history';
import type { IdempotencyScope, StoredAnswer } from '../domain/idempotency';
import { enqueueEventsSql } from '../../events/persistence/outbound-events.repository';
import { IDEMPOTENCY_TTL, storeAnswerParameters, storeAnswerSql, type NewClaim } from './idempotency-keys.repository';
import { PAYOUT_VIEW_OMITS, PayoutEntity, PayoutEventEntity, toPayout, toPayoutView } from './payout.entity';

/** A payout as committed before its provider is called (or, pending_approval, before anyone may call it). */
export interface RequestedPayout {
  id: string;
  status: 'requested' | 'pending_approval';
  approvalsRequired: number;
  approvalExpiresAt: Date | null;
  provider: Provider;
  environment: ProviderEnvironment;
  amount: Money;
  beneficiary: BeneficiaryColumns;
  /** The stored beneficiary it was made to, when it was (null for an inline beneficiary). */
  beneficiaryId: string | null;
  reference: string | null;
  metadata: Record<string, string>;
  createdByKeyId: string;
  /** Null while pending_approval: nothing to check until it is approved. */
  nextCheckAt: Date | null;
  holdOnCreate: boolean;
}

/**
 * What the first commit of a payout did: inserted it, found its key taken, left it to the governed
 * path, or wrote nothing because its linked write's guard said no (see FirstCommitLink).
 */
export type ClaimResult =
  | { outcome: 'inserted'; payout: Payout }
  | { outcome: 'taken' }
  | { outcome: 'governed' }
  | { outcome: 'link_refused' };

/**
 * Another module's write that commits with a payout's first commit or not at all (a batch row
 * that follows its payout from the moment the payout exists), in the same statement. Its SQL
 * names its own parameters through `p(1)`, `p(2)`, … (renumbered into the statement's).
 */
export interface FirstCommitLink {
  /** A boolean SQL expression: false stores nothing (no claim, no payout) and answers `link_refused`. */
  guard: (p: (index: number) => string) => string;
  /** A data-modifying statement run once the claim inserted; `claim` names the claim's rows (column payout_id). */
  write: (p: (index: number) => string, claim: string) => string;
  parameters: readonly unknown[];
}

/** The statuses that never moved money and never will: they do not count against limits. */
const NOT_PAID_OUT = ['failed', 'rejected', 'cancelled'];

/** A payout read under its row lock, with the reconciler's bookkeeping the rules need. */
export interface LockedPayout {
  payout: Payout;
  checkAttempts: number;
}

/** The columns a provider outcome changes. */
export interface PayoutStateChange {
  status: PayoutStatus;
  providerReference?: string | null;
  providerStatus?: string | null;
  failureCode: string | null;
  failureReason: string | null;
  fees?: { amount: string; currency: string } | null;
  /**
   * Undefined: left as it is. The reconciler's own check leaves it so: its claim's lease stays
   * until the check ends, and the check's end can tell whether anyone else moved it meanwhile
   * (scheduleNextCheck).
   */
  nextCheckAt?: Date | null;
  checkAttempts?: number;
  /** The instant the answer shows: written as given, so the row and the answer never differ. */
  updatedAt: Date;
}

export interface PayoutPageQuery {
  status?: PayoutStatus;
  provider?: Provider;
  environment?: ProviderEnvironment;
  createdFrom?: Date;
  createdTo?: Date;
  reference?: string;
  /** Strictly older than this (created_at, id) position. */
  before?: PagePosition;
  limit: number;
}

/**
 * Where a row stands in the list's order: created_at to the microsecond, as PostgreSQL keeps it
 * (a JS Date holds milliseconds: a cursor made from one skipped the rows created earlier in the
 * same millisecond as a page's last row), and the id for ties.
 */
export interface PagePosition {
  createdAtMicros: string;
  id: string;
}

/** The columns a provider outcome is derived from: the outcome stays right while they are what was read. */
export type OutcomeBasis = Pick<
  Payout,
  'status' | 'providerReference' | 'providerStatus' | 'failureCode' | 'failureReason' | 'fees'
>;

/** An event as the outbox stores it: its type and the payload each subscription receives. */
export interface PayoutOutboxEvent {
  type: string;
  payload: Record<string, unknown>;
}

/** What commits with a payout's new state: its history row, the events reporting it, the stored answer. */
export interface OutcomeEffects {
  history?: { type: string; fromStatus: PayoutStatus; toStatus: PayoutStatus; detail: Record<string, unknown> };
  events?: readonly PayoutOutboxEvent[];
  answer?: { scope: IdempotencyScope; answer: StoredAnswer };
}

/** Positional parameters for SQL built piece by piece: bind() keeps the value and returns its `$n`. */
function sqlParameters(): { values: unknown[]; bind: (value: unknown) => string } {
  const values: unknown[] = [];
  return {
    values,
    bind: (value) => {
      values.push(value);
      return `$${values.length}`;
    },
  };
}

/** The row of a payout just requested: nothing from its provider yet. */
function requestedRow(repository: Repository<PayoutEntity>, payout: RequestedPayout): PayoutEntity {
  return repository.create({
    id: payout.id,
    provider: payout.provider,
    environment: payout.environment,
    status: payout.status,
    amount: payout.amount.amount,
    currency: payout.amount.currency,
    ...payout.beneficiary,
    beneficiaryId: payout.beneficiaryId,
    reference: payout.reference,
    metadata: payout.metadata,
    providerReference: null,
    providerStatus: null,
    failureCode: null,
    failureReason: null,
    fees: null,
    createdByKeyId: payout.createdByKeyId,
    nextCheckAt: payout.nextCheckAt,
    checkAttempts: 0,
    approvalsRequired: payout.approvalsRequired,
    approvalExpiresAt: payout.approvalExpiresAt,
    holdOnCreate: payout.holdOnCreate,
  });
}

/** The payouts table and its history (payout_events). Rows leave here as domain Payouts. */
@Injectable()
export class PayoutsRepository {
  /** Payout rows by SQL written once (see EntityRows): these reads are on every notification and status check. */
  private readonly rows: EntityRows<PayoutEntity>;
  /**
   * The columns of a PayoutView, for lists and exports: without the sealed beneficiary (two bytea
   * columns, hex in the text protocol: about 360 bytes per row, twice that as text, that a page
   * would read, transfer and decode for nothing) and the bookkeeping no answer shows.
   */
  private readonly viewRows: EntityRows<PayoutEntity, (typeof PAYOUT_VIEW_OMITS)[number]>;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.rows = new EntityRows(dataSource, PayoutEntity, 'p');
    this.viewRows = new EntityRows(dataSource, PayoutEntity, 'p', { omit: PAYOUT_VIEW_OMITS });
  }

  /**
   * For another module's statement that reads a payout along with its own writes (one round trip
   * instead of a read and then a write): the payout's columns over the alias `p`, to put after
   * SELECT, and the domain Payout of a row that selected them (other columns are ignored).
   */
  get selectedPayoutColumns(): string {
    return this.rows.selectList;
  }

  payoutFromSelectedRow(row: Record<string, unknown>): Payout {
    return toPayout(this.rows.hydrate(row));
  }

  /** The payouts matching `where` (its parameters $1, $2, …), hydrated; `tail` after the WHERE (ORDER BY, FOR UPDATE). */
  private async select(
    runner: StatementRunner,
    where: string,
    parameters: unknown[],
    tail = '',
  ): Promise<PayoutEntity[]> {
    const { rows } = await runPrepared<Record<string, unknown>>(
      runner,
      `SELECT ${this.rows.selectList} FROM payouts p WHERE ${where} ${tail}`,
      parameters,
    );
    return rows.map((row) => this.rows.hydrate(row));
  }

  /** Inserts a new payout (status requested); returns it with the timestamps the database set. */
  /**
   * The first commit of a payout in one statement, one round trip: claim the idempotency key,
   * insert the payout and its first history row. Null when the key is already claimed (a
   * concurrent claim of the same key waits on the unique row until the first one commits, then
   * inserts nothing). The same three writes as three statements in a transaction, without the
   * four extra round trips (BEGIN, two more statements, COMMIT) that made most of this commit's cost.
   */
  async claimAndInsertRequested(
    scope: IdempotencyScope,
    claim: NewClaim,
    payout: RequestedPayout,
    history: Record<string, unknown>,
    options: {
      transaction?: Transaction;
      unlessGoverned: boolean;
      events: readonly PayoutOutboxEvent[];
      link?: FirstCommitLink;
    },
  ): Promise<ClaimResult> {
    // The events announcing the payout, written only if the claim (so the payout) was.
    const eventPlaceholders = options.events.map((_, index) => ({
      type: `$${28 + 2 * index}`,
      payload: `$${29 + 2 * index}`,
    }));
    const linkBase = 27 + 2 * options.events.length;
    const linkParameter = (index: number) => `$${linkBase + index}`;
    const link = options.link;
    // unlessGoverned: insert nothing when a payout policy governs this payout; the caller then
    // takes the governed path (policies locked, limits counted, approvals decided). Checked in the
    // same statement, so a payout either saw no policy or is governed: never a gap between the two.
    const { rows } = await runPrepared<{
      governed: boolean;
      link_allows: boolean;
      created_at: Date | null;
      updated_at: Date | null;
    }>(
      options.transaction ?? this.dataSource,
      `WITH governed AS (
         SELECT $23::boolean AND EXISTS (
           SELECT 1 FROM payout_policies WHERE currency = $11::char(3) AND (provider IS NULL OR provider = $8::varchar)
             AND (environment IS NULL OR environment = $9::varchar) AND (api_key_id IS NULL OR api_key_id = $1::uuid)
         ) AS yes
       ), link_allows AS (
         SELECT ${link ? `(${link.guard(linkParameter)})` : 'true'} AS yes
       ), claim AS (
         INSERT INTO idempotency_keys (api_key_id, idempotency_key, request_hash, payout_id, expires_at, owner_instance, lease_until)
         SELECT $1::uuid, $2::varchar, $3::char(64), $4::uuid, now() + $5::interval, $6::int, now() + $7::int * interval '1 millisecond'
         WHERE NOT (SELECT yes FROM governed) AND (SELECT yes FROM link_allows)
         ON CONFLICT DO NOTHING RETURNING payout_id
       ), payout AS (
         INSERT INTO payouts (id, provider, environment, status, amount, currency, beneficiary, beneficiary_master_key_id,
           beneficiary_wrapped_key, beneficiary_ciphertext, beneficiary_fingerprint, reference, metadata, created_by_key_id,
           next_check_at, check_attempts, beneficiary_id, approvals_required, approval_expires_at, counted_at, hold_on_create)
         SELECT payout_id, $8::varchar, $9::varchar, $24::varchar, $10::numeric, $11::char(3), $12::jsonb, $13::varchar,
           $14::bytea, $15::bytea, $16::char(64), $17::varchar, $18::jsonb, $19::uuid, $20::timestamptz, 0, $22::uuid,
           $25::smallint, $26::timestamptz, now(), $27::boolean
         FROM claim
         RETURNING created_at, updated_at
       ), history AS (
         INSERT INTO payout_events (payout_id, type, from_status, to_status, detail)
         SELECT payout_id, 'created', NULL, $24::varchar, $21::jsonb FROM claim
       )${eventPlaceholders.length ? `, announced AS (${enqueueEventsSql(eventPlaceholders, 'claim')})` : ''}${
         link ? `, linked AS (${link.write(linkParameter, 'claim')})` : ''
       }
       SELECT (SELECT yes FROM governed) AS governed, (SELECT yes FROM link_allows) AS link_allows,
              payout.created_at, payout.updated_at
       FROM (SELECT 1) AS one LEFT JOIN payout ON true`,
      [
        scope.apiKeyId,
        scope.key,
        claim.requestHash,
        payout.id,
        IDEMPOTENCY_TTL,
        claim.ownerInstance,
        claim.leaseMs,
        payout.provider,
        payout.environment,
        payout.amount.amount,
        payout.amount.currency,
        JSON.stringify(payout.beneficiary.beneficiary),
        payout.beneficiary.beneficiaryMasterKeyId,
        payout.beneficiary.beneficiaryWrappedKey,
        payout.beneficiary.beneficiaryCiphertext,
        payout.beneficiary.beneficiaryFingerprint,
        payout.reference,
        JSON.stringify(payout.metadata),
        payout.createdByKeyId,
        payout.nextCheckAt,
        JSON.stringify(history),
        payout.beneficiaryId,
        options.unlessGoverned,
        payout.status,
        payout.approvalsRequired,
        payout.approvalExpiresAt,
        payout.holdOnCreate,
        ...options.events.flatMap((event) => [event.type, JSON.stringify(event.payload)]),
        ...(link?.parameters ?? []),
      ],
    );
    const [row] = rows;
    if (row.governed) return { outcome: 'governed' };
    if (!row.link_allows) return { outcome: 'link_refused' };
    if (!row.created_at || !row.updated_at) return { outcome: 'taken' };
    const entity = requestedRow(this.dataSource.getRepository(PayoutEntity), payout);
    entity.createdAt = row.created_at;
    entity.updatedAt = row.updated_at;
    return { outcome: 'inserted', payout: toPayout(entity) };
  }

  /**
   * What the payouts in a policy's scope used in the last 24 hours (by counted_at: created, or
   * approved): their total and count, failed, rejected and cancelled ones aside (they never moved
   * money; a bank's return of a completed one gives its amount back), and `excludeId` aside (the
   * payout being approved, counted again as new). Read on the policy's row lock (see
   * PayoutPolicyBook), each in its own statement so it sees every payout committed before the lock
   * was granted.
   */
  async rollingUsage(
    transaction: Transaction,
    scope: PolicyScope,
    excludeId: string | null = null,
  ): Promise<{ amount: string; count: number }> {
    const [row]: Array<{ amount: string; count: number }> = await transaction.query(
      `SELECT COALESCE(sum(amount), 0)::text AS amount, count(*)::int AS count FROM payouts
       WHERE currency = $1::char(3) AND counted_at > now() - interval '24 hours' AND status <> ALL($2::varchar[])
         AND ($3::varchar IS NULL OR provider = $3) AND ($4::varchar IS NULL OR environment = $4)
         AND ($5::uuid IS NULL OR created_by_key_id = $5) AND ($6::uuid IS NULL OR id <> $6)`,
      [scope.currency, NOT_PAID_OUT, scope.provider, scope.environment, scope.apiKeyId, excludeId],
    );
    return row;
  }

  /**
   * The first statements of a governed payout's transaction: a bounded lock wait, and the shared
   * side of the lock a PUT of the payout policies takes exclusively (PayoutPoliciesRepository).
   */
  async waitForPolicyLocks(transaction: Transaction, lockTimeoutMs: number): Promise<void> {
    await transaction.query(`SELECT set_config('lock_timeout', $1, true)`, [`${lockTimeoutMs}ms`]);
    await transaction.query(`SELECT pg_advisory_xact_lock_shared(hashtext('payout_policies'))`);
  }

  /** From now on the payout counts against rolling limits as if it were new (see counted_at). */
  async startCounting(transaction: Transaction, id: string): Promise<void> {
    await transaction.query(`UPDATE payouts SET counted_at = now() WHERE id = $1::uuid`, [id]);
  }

  /**
   * Whether a payout in the policy's scope (its currency, and its provider, environment and key
   * when it names them) was completed to the account with one of these fingerprints. Completed
   * only: an account is not "known" because someone asked to pay it, or because a payout to it is
   * on its way; and a payout in another currency or scope proves nothing here.
   */
  async completedBefore(transaction: Transaction, fingerprints: string[], scope: PolicyScope): Promise<boolean> {
    const rows: unknown[] = await transaction.query(
      `SELECT 1 FROM payouts WHERE beneficiary_fingerprint = ANY($1::char(64)[]) AND status = 'completed'
         AND currency = $2::char(3) AND ($3::varchar IS NULL OR provider = $3)
         AND ($4::varchar IS NULL OR environment = $4) AND ($5::uuid IS NULL OR created_by_key_id = $5)
       LIMIT 1`,
      [fingerprints, scope.currency, scope.provider, scope.environment, scope.apiKeyId],
    );
    return rows.length > 0;
  }

  async findById(id: string): Promise<Payout | null> {
    const [row] = await this.select(this.dataSource, 'p.id = $1::uuid', [id]);
    return row ? toPayout(row) : null;
  }

  /** SELECT … FOR UPDATE: the payout, locked until the transaction ends. */
  async lockById(transaction: Transaction, id: string): Promise<LockedPayout | null> {
    const [row] = await this.select(transaction, 'p.id = $1::uuid', [id], 'FOR UPDATE');
    return row ? { payout: toPayout(row), checkAttempts: row.checkAttempts } : null;
  }

  /** One UPDATE of the changed columns (not save(), which would read the row again to diff it). */
  async updateState(transaction: Transaction, id: string, change: PayoutStateChange): Promise<void> {
    await transaction.getRepository(PayoutEntity).update({ id }, change);
  }

  /**
   * A provider outcome in one statement, one round trip, when the row is still as it was read:
   * compare-and-set on every column the outcome was derived from (`basis`), then the new state,
   * its history row, its event and the stored answer, all or nothing. False (nothing written)
   * when another writer got there first; the caller then decides again under a row lock. The
   * same atomicity as BEGIN, SELECT … FOR UPDATE, four writes, COMMIT, without six round trips.
   * Every basis column is compared with IS NOT DISTINCT FROM, which no index can serve, so the row
   * is found by its primary key alone: with `status = $n` the planner took (status, created_at, id)
   * for it on a young table and walked every payout in that status to find this one.
   */
  async commitIfUnchanged(
    id: string,
    basis: OutcomeBasis,
    change: PayoutStateChange,
    effects: OutcomeEffects,
  ): Promise<boolean> {
    const { values: parameters, bind } = sqlParameters();
    const json = (value: unknown): string | null =>
      value === null || value === undefined ? null : JSON.stringify(value);
    const statements = [
      `moved AS (
         UPDATE payouts SET status = ${bind(change.status)}::varchar,
           provider_reference = ${bind(change.providerReference === undefined ? basis.providerReference : change.providerReference)}::varchar,
           provider_status = ${bind(change.providerStatus === undefined ? basis.providerStatus : change.providerStatus)}::varchar,
           failure_code = ${bind(change.failureCode)}::varchar, failure_reason = ${bind(change.failureReason)}::text,
           fees = ${bind(json(change.fees === undefined ? basis.fees : change.fees))}::jsonb,
           ${change.nextCheckAt === undefined ? '' : `next_check_at = ${bind(change.nextCheckAt)}::timestamptz,`}
           check_attempts = COALESCE(${bind(change.checkAttempts ?? null)}::int, check_attempts),
           updated_at = ${bind(change.updatedAt)}::timestamptz
          WHERE ${basisCondition(id, basis, bind)}
         RETURNING id)`,
    ];
    if (effects.history) {
      const { type, fromStatus, toStatus, detail } = effects.history;
      statements.push(
        `history AS (
           INSERT INTO payout_events (payout_id, type, from_status, to_status, detail)
           SELECT id, ${bind(type)}::varchar, ${bind(fromStatus)}::varchar, ${bind(toStatus)}::varchar, ${bind(JSON.stringify(detail))}::jsonb FROM moved)`,
      );
    }
    if (effects.events?.length) {
      const events = effects.events.map((event) => ({
        type: bind(event.type),
        payload: bind(JSON.stringify(event.payload)),
      }));
      statements.push(`event AS (${enqueueEventsSql(events, 'moved')})`);
    }
    if (effects.answer) {
      const placeholders = storeAnswerParameters(effects.answer.scope, effects.answer.answer).map(bind);
      statements.push(`answer AS (${storeAnswerSql(placeholders, 'moved')})`);
    }
    const { rows } = await runPrepared(
      this.dataSource,
      `WITH ${statements.join(',\n')}\nSELECT id FROM moved`,
      parameters,
    );
    return rows.length > 0;
  }

  /**
   * Whether the row is still as it was read, on the columns of `basis` (as commitIfUnchanged
   * compares them): a read, for an outcome that has nothing to write unless someone moved the row.
   */
  async isUnchanged(id: string, basis: OutcomeBasis): Promise<boolean> {
    const { values: parameters, bind } = sqlParameters();
    const { rows } = await runPrepared(
      this.dataSource,
      `SELECT 1 FROM payouts WHERE ${basisCondition(id, basis, bind)}`,
      parameters,
    );
    return rows.length > 0;
  }

  /** Newest first; one row more than the limit, so the caller knows whether a next page exists. */
  async page(query: PayoutPageQuery): Promise<Array<{ payout: PayoutView; position: PagePosition }>> {
    const { values: parameters, bind: bindValue } = sqlParameters();
    const bind = (value: unknown, type: string): string => `${bindValue(value)}::${type}`;
    const conditions = ['TRUE'];
    if (query.status) conditions.push(`p.status = ${bind(query.status, 'varchar')}`);
    if (query.provider) conditions.push(`p.provider = ${bind(query.provider, 'varchar')}`);
    if (query.environment) conditions.push(`p.environment = ${bind(query.environment, 'varchar')}`);
    if (query.reference) conditions.push(`p.reference = ${bind(query.reference, 'varchar')}`);
    if (query.createdFrom) conditions.push(`p.created_at >= ${bind(query.createdFrom, 'timestamptz')}`);
    if (query.createdTo) conditions.push(`p.created_at < ${bind(query.createdTo, 'timestamptz')}`);
    if (query.before) {
      // A row comparison, which PostgreSQL turns into an index seek on (…, created_at, id): the
      // equivalent `created_at < x OR (created_at = x AND id < y)` is only a filter, and a deep
      // page scanned every newer row (800 ms at page 40,000 of a million payouts).
      conditions.push(
        `(p.created_at, p.id) < (timestamptz 'epoch' + ${bind(query.before.createdAtMicros, 'bigint')} * interval '1 microsecond', ${bind(query.before.id, 'uuid')})`,
      );
    }
    const raw: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT ${this.viewRows.selectList}, p.beneficiary_ciphertext IS NOT NULL AS beneficiary_sealed,
              (extract(epoch FROM p.created_at) * 1000000)::bigint::text AS page_position_micros
       FROM payouts p WHERE ${conditions.join(' AND ')}
       ORDER BY p.created_at DESC, p.id DESC LIMIT ${bind(query.limit + 1, 'int')}`,
      parameters,
    );
    return raw.map((row) => {
      const payout = toPayoutView(this.viewRows.hydrate(row), { beneficiarySealed: row.beneficiary_sealed === true });
      return { payout, position: { createdAtMicros: row.page_position_micros as string, id: payout.id } };
    });
  }

  async appendHistory(
    transaction: Transaction,
    payoutId: string,
    type: string,
    fromStatus: string | null,
    toStatus: string | null,
    detail: Record<string, unknown>,
  ): Promise<void> {
    const repository = transaction.getRepository(PayoutEventEntity);
    await repository.save(repository.create({ payoutId, type, fromStatus, toStatus, detail }), { reload: false });
  }

  async history(payoutId: string): Promise<PayoutHistoryEntry[]> {
    const rows = await this.dataSource
      .getRepository(PayoutEventEntity)
      .find({ where: { payoutId }, order: { id: 'ASC' } });
    return rows.map((row) => ({
      id: row.id,
      type: row.type,
      fromStatus: row.fromStatus,
      toStatus: row.toStatus,
      detail: row.detail,
      occurredAt: row.occurredAt,
    }));
  }

  /**
   * Claims payouts with a check due, up to a limit per provider, for one lease: pushes their next
   * check out and counts the attempt, in one statement. SKIP LOCKED lets replicas claim side by
   * side; a claimed row is not due again before the lease ends, so no other replica checks it
   * meanwhile. Most overdue first within each provider. Each claim comes with its lease as the
   * stored value (`lease`, exact to the microsecond), so the check's end can tell whether anyone
   * moved the next check while it ran (scheduleNextCheck).
   */
  async claimDueChecks(
    leaseMs: number,
    limits: ReadonlyArray<{ provider: Provider; limit: number }>,
  ): Promise<Array<{ id: string; provider: Provider; checkAttempts: number; lease: string }>> {
    const { rows: claimed } = await runPrepared<{
      id: string;
      provider: Provider;
      check_attempts: number;
      lease: string;
    }>(
      this.dataSource,
      `WITH wanted AS (
         SELECT provider, n FROM unnest($2::varchar[], $3::int[]) AS wanted(provider, n)
       ), picked AS (
         SELECT due.id FROM wanted CROSS JOIN LATERAL (
           SELECT id FROM payouts
            WHERE provider = wanted.provider AND next_check_at IS NOT NULL AND next_check_at <= now()
              -- Never sent: nothing to ask a provider (and re-submitting would send it unapproved).
              AND status <> 'pending_approval'
            ORDER BY next_check_at
            LIMIT wanted.n
            FOR UPDATE SKIP LOCKED) AS due
       ), claimed AS (
         UPDATE payouts SET next_check_at = now() + $1::int * interval '1 millisecond', check_attempts = check_attempts + 1
          WHERE id IN (SELECT id FROM picked)
         RETURNING id, provider, check_attempts, next_check_at::text AS lease)
       SELECT id, provider, check_attempts, lease FROM claimed`,
      [leaseMs, limits.map((entry) => entry.provider), limits.map((entry) => entry.limit)],
    );
    return claimed.map((row) => ({
      id: row.id,
      provider: row.provider,
      checkAttempts: row.check_attempts,
      lease: row.lease,
    }));
  }

  /**
   * How many payouts have a status check due now, and how long the most overdue one has waited
   * (seconds), for the reconciler's metrics (read at scrape time). Per provider, so that it is a
   * range scan of ix_payouts_provider_next_check (provider first) over the due rows only: without
   * the provider, the planner read the whole table.
   */
  async dueCheckBacklog(providers: readonly string[]): Promise<{ due: number; oldestDueSeconds: number }> {
    const [row]: Array<{ due: number; oldest: number | null }> = await this.dataSource.query(
      `SELECT count(*)::int AS due, EXTRACT(EPOCH FROM now() - min(next_check_at))::float8 AS oldest FROM payouts
        WHERE provider = ANY($1::varchar[]) AND next_check_at <= now() AND status <> 'pending_approval'`,
      [providers],
    );
    return { due: row.due, oldestDueSeconds: Math.max(0, row.oldest ?? 0) };
  }

  /** The payouts with these ids, in one statement (missing ones are simply absent). */
  async findByIds(ids: readonly string[]): Promise<Map<string, Payout>> {
    if (ids.length === 0) return new Map();
    const rows = await this.select(this.dataSource, 'p.id = ANY($1::uuid[])', [[...ids]]);
    return new Map(rows.map((row) => [row.id, toPayout(row)]));
  }

  /**
   * After a claimed check: the next one at `at` while the payout's status is one of
   * `openStatuses`, none once it is final. When the next check is no longer the claim's `lease`,
   * someone moved it while the check ran (a throttled notification asked for a follow-up at the
   * end of its interval, a status change asked for a prompt look), and the earlier of theirs and
   * `at` is kept: overwriting it with the back-off would put that follow-up off by minutes.
   */
  async scheduleNextCheck(id: string, openStatuses: readonly PayoutStatus[], at: Date, lease: string): Promise<void> {
    await runPrepared(
      this.dataSource,
      `UPDATE payouts SET next_check_at = CASE
           WHEN status <> ALL($2::varchar[]) THEN NULL
           WHEN next_check_at IS DISTINCT FROM $4::timestamptz THEN LEAST(next_check_at, $3::timestamptz)
           ELSE $3::timestamptz END
        WHERE id = $1::uuid`,
      [id, openStatuses, at, lease],
    );
  }
}

/**
 * The row `id` as `basis` saw it, on every column a provider outcome is derived from. Compared with
 * IS NOT DISTINCT FROM, which no index serves: the row is found by its primary key alone.
 */
function basisCondition(id: string, basis: OutcomeBasis, bind: (value: unknown) => string): string {
  const fees = basis.fees === null || basis.fees === undefined ? null : JSON.stringify(basis.fees);
  return `id = ${bind(id)}::uuid AND status IS NOT DISTINCT FROM ${bind(basis.status)}::varchar
            AND provider_reference IS NOT DISTINCT FROM ${bind(basis.providerReference)}::varchar
            AND provider_status IS NOT DISTINCT FROM ${bind(basis.providerStatus)}::varchar
            AND failure_code IS NOT DISTINCT FROM ${bind(basis.failureCode)}::varchar
            AND failure_reason IS NOT DISTINCT FROM ${bind(basis.failureReason)}::text
            AND fees IS NOT DISTINCT FROM ${bind(fees)}::jsonb`;
}
