import { HttpStatus, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { type AuditActor, AuditTrail } from '../audit/audit-trail';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import { open, rewrap, seal } from '../credentials/crypto/envelope';
import { MasterKeyring } from '../credentials/crypto/master-keyring';
import { PayoutBeneficiaries } from '../payouts/beneficiary/payout-beneficiaries';
import { BeneficiaryDirectory } from '../payouts/domain/beneficiary-directory';
import { maskBeneficiary } from '../payouts/domain/payout';
import { descriptorOf } from '../providers/provider-catalogue';
import type { Beneficiary, Provider } from '../providers/provider.port';
import type { BeneficiaryFilter, StoredBeneficiary } from './domain/beneficiary';
import { BeneficiariesRepository, InvalidCursor } from './persistence/beneficiaries.repository';

/**
 * The AAD of a stored beneficiary's ciphertext. Prefixed so it can never equal a credential's, a
 * payout beneficiary's or a subscription's: a ciphertext copied onto another row does not open.
 */
const envelopeId = (id: string) => `stored-beneficiary:${id}`;

const REWRAP_BATCH = 200;

/**
 * Stored beneficiaries: validated accounts kept sealed (like credentials), shown masked, found by
 * a keyed fingerprint so the same account is not stored twice, and opened only to make a payout.
 */
@Injectable()
export class BeneficiariesService extends BeneficiaryDirectory {
  constructor(
    private readonly rows: BeneficiariesRepository,
    private readonly keyring: MasterKeyring,
    private readonly payoutBeneficiaries: PayoutBeneficiaries,
    private readonly audit: AuditTrail,
  ) {
    super();
  }

  /** Stores a validated beneficiary; 409 BENEFICIARY_DUPLICATE when the account is already stored and active. */
  async create(
    beneficiary: Beneficiary,
    label: string | null,
    by: AuditActor & { keyId: string },
  ): Promise<StoredBeneficiary> {
    const rail = beneficiary.type;
    const existing = await this.rows.findActiveByFingerprint(rail, this.payoutBeneficiaries.fingerprints(beneficiary));
    if (existing) throw duplicate(existing.id);
    const id = randomUUID();
    const sealed = seal(this.keyring, envelopeId(id), Buffer.from(JSON.stringify(beneficiary), 'utf8'));
    const inserted = await this.rows.insert(
      {
        id,
        rail,
        label,
        masked: maskBeneficiary(beneficiary),
        masterKeyId: sealed.masterKeyId,
        wrappedKey: sealed.wrappedDataKey,
        ciphertext: sealed.ciphertext,
        fingerprint: this.payoutBeneficiaries.fingerprint(beneficiary, sealed.masterKeyId),
        status: 'active',
        createdByKeyId: by.keyId,
        createdAt: new Date(),
        disabledAt: null,
        disabledByKeyId: null,
      },
      (transaction) =>
        this.audit.record(transaction, {
          action: 'beneficiary.created',
          subjectType: 'beneficiary',
          subjectId: id,
          actor: by,
          detail: { rail, label, beneficiary: maskBeneficiary(beneficiary) },
        }),
    );
    if (!inserted) {
      // Stored by a concurrent request between the lookup and the insert: the unique index decided.
      const winner = await this.rows.findActiveByFingerprint(rail, this.payoutBeneficiaries.fingerprints(beneficiary));
      throw duplicate(winner?.id ?? null);
    }
    return this.get(id);
  }

  async get(id: string): Promise<StoredBeneficiary> {
    const found = await this.rows.findById(id);
    if (!found) throw ApiError.notFound('beneficiary', id);
    return found;
  }

  async list(filter: BeneficiaryFilter): Promise<{ items: StoredBeneficiary[]; nextCursor: string | null }> {
    try {
      return await this.rows.page(filter);
    } catch (error) {
      if (error instanceof InvalidCursor) {
        throw ApiError.validation([
          { field: 'cursor', code: 'INVALID_CURSOR', message: 'is not a cursor this API gave out; start without one' },
        ]);
      }
      throw error;
    }
  }

  /** Idempotent: a disabled beneficiary stays disabled, with who and when unchanged. Payouts already made are not touched. */
  async disable(id: string, by: AuditActor & { keyId: string }): Promise<StoredBeneficiary> {
    const disabled = await this.rows.disable(id, by.keyId, (transaction) =>
      this.audit.record(transaction, {
        action: 'beneficiary.disabled',
        subjectType: 'beneficiary',
        subjectId: id,
        actor: by,
      }),
    );
    if (!disabled) throw ApiError.notFound('beneficiary', id);
    return disabled;
  }

  async openForPayout(id: string, provider: Provider): Promise<Beneficiary> {
    const found = await this.rows.findSealed(id);
    if (!found) {
      throw new ApiError(
        HttpStatus.UNPROCESSABLE_ENTITY,
        ErrorCode.BENEFICIARY_NOT_FOUND,
        `No stored beneficiary has id ${id}. Check beneficiaryId, or send the beneficiary itself.`,
        { beneficiaryId: id },
      );
    }
    const { rail } = descriptorOf(provider);
    if (found.beneficiary.rail !== rail) {
      throw ApiError.validation([
        {
          field: 'beneficiaryId',
          code: 'WRONG_RAIL',
          message: `is a ${found.beneficiary.rail} beneficiary; ${provider} pays to ${rail}`,
        },
      ]);
    }
    if (found.beneficiary.status !== 'active') {
      throw new ApiError(
        HttpStatus.CONFLICT,
        ErrorCode.BENEFICIARY_DISABLED,
        `Beneficiary ${id} is disabled; pay to an active one.`,
        { beneficiaryId: id },
      );
    }
    return JSON.parse(open(this.keyring, envelopeId(id), found.sealed).toString('utf8')) as Beneficiary;
  }

  /**
   * For the master key rotation: every beneficiary sealed under an older key gets its data key
   * re-wrapped under the current one, and its fingerprint recomputed under the current key.
   */
  async rewrapAll(): Promise<number> {
    const current = this.keyring.current.id;
    let count = 0;
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const batch = await this.rows.sealedUnderOtherKey(after, current, REWRAP_BATCH);
      if (batch.length === 0) return count;
      for (const row of batch) {
        const sealed = { masterKeyId: row.masterKeyId, wrappedDataKey: row.wrappedKey, ciphertext: row.ciphertext };
        const beneficiary = JSON.parse(open(this.keyring, envelopeId(row.id), sealed).toString('utf8')) as Beneficiary;
        const rewrapped = rewrap(this.keyring, envelopeId(row.id), sealed);
        await this.rows.storeRewrapped(row.id, {
          masterKeyId: rewrapped.masterKeyId,
          wrappedKey: rewrapped.wrappedDataKey,
          fingerprint: this.payoutBeneficiaries.fingerprint(beneficiary, rewrapped.masterKeyId),
        });
      }
      count += batch.length;
      after = batch[batch.length - 1].id;
    }
  }
}

function duplicate(existingId: string | null): ApiError {
  return new ApiError(
    HttpStatus.CONFLICT,
    ErrorCode.BENEFICIARY_DUPLICATE,
    existingId
      ? `This account is already stored as beneficiary ${existingId}; use that id, or disable it first.`
      : 'This account is already stored as an active beneficiary; use it, or disable it first.',
    { beneficiaryId: existingId },
  );
}
