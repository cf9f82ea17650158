import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryFailedError } from 'typeorm';
import type { SealedSecret } from '../../credentials/crypto/envelope';
import type { Transaction } from '../../database/unit-of-work';
import type { BeneficiaryFilter, StoredBeneficiary } from '../domain/beneficiary';
import { BeneficiaryEntity } from './beneficiary.entity';

/** The beneficiaries table. Sealed columns go in and out only through BeneficiariesService. */
@Injectable()
export class BeneficiariesRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Inserts a beneficiary; false when an active one with the same account exists on the rail
   * (unique index). created_at is given in milliseconds, as a JS Date holds it, so the list's
   * cursor (which carries it) compares exactly with the stored value.
   */
  async insert(row: BeneficiaryEntity, alongside: (transaction: Transaction) => Promise<void>): Promise<boolean> {
    try {
      await this.dataSource.transaction(async (transaction) => {
        await transaction.getRepository(BeneficiaryEntity).insert(row);
        await alongside(transaction);
      });
      return true;
    } catch (error) {
      if (error instanceof QueryFailedError && (error.driverError as { code?: string }).code === '23505') return false;
      throw error;
    }
  }

  async findById(id: string): Promise<StoredBeneficiary | null> {
    const row = await this.dataSource.getRepository(BeneficiaryEntity).findOneBy({ id });
    return row ? toStoredBeneficiary(row) : null;
  }

  /** The sealed columns of a beneficiary, with what opening it needs to check. */
  async findSealed(id: string): Promise<{ beneficiary: StoredBeneficiary; sealed: SealedSecret } | null> {
    const row = await this.dataSource.getRepository(BeneficiaryEntity).findOneBy({ id });
    if (!row) return null;
    return {
      beneficiary: toStoredBeneficiary(row),
      sealed: { masterKeyId: row.masterKeyId, wrappedDataKey: row.wrappedKey, ciphertext: row.ciphertext },
    };
  }

  /** The active beneficiary on this rail whose fingerprint is one of these (one per master key of the ring). */
  async findActiveByFingerprint(rail: string, fingerprints: string[]): Promise<StoredBeneficiary | null> {
    const row = await this.dataSource
      .getRepository(BeneficiaryEntity)
      .createQueryBuilder('b')
      .where('b.rail = :rail AND b.status = :status AND b.fingerprint IN (:...fingerprints)', {
        rail,
        status: 'active',
        fingerprints,
      })
      .getOne();
    return row ? toStoredBeneficiary(row) : null;
  }

  /** Newest first; the cursor is the last row's (created_at, id), compared as a row so pages never skip or repeat. */
  async page(filter: BeneficiaryFilter): Promise<{ items: StoredBeneficiary[]; nextCursor: string | null }> {
    const query = this.dataSource
      .getRepository(BeneficiaryEntity)
      .createQueryBuilder('b')
      .orderBy('b.created_at', 'DESC')
      .addOrderBy('b.id', 'DESC')
      .limit(filter.limit + 1);
    if (filter.rail) query.andWhere('b.rail = :rail', { rail: filter.rail });
    if (filter.status) query.andWhere('b.status = :status', { status: filter.status });
    if (filter.cursor) {
      const [createdAt, id] = decodeCursor(filter.cursor);
      query.andWhere('(b.created_at, b.id) < (:createdAt::timestamptz, :id::uuid)', { createdAt, id });
    }
    const rows = await query.getMany();
    const items = rows.slice(0, filter.limit).map(toStoredBeneficiary);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > filter.limit && last ? encodeCursor(last) : null };
  }

  /** Disables an active beneficiary; the row as it then is (unchanged when it was disabled already). */
  /** Disables an active beneficiary; `alongside` runs in the same transaction only when this call disabled it. */
  async disable(
    id: string,
    byKeyId: string,
    alongside: (transaction: Transaction) => Promise<void>,
  ): Promise<StoredBeneficiary | null> {
    await this.dataSource.transaction(async (transaction) => {
      // As a SELECT over the UPDATE: TypeORM answers a bare UPDATE … RETURNING as [rows, count].
      const changed: unknown[] = await transaction.query(
        `WITH changed AS (
           UPDATE beneficiaries SET status = 'disabled', disabled_at = now(), disabled_by_key_id = $2
           WHERE id = $1 AND status = 'active' RETURNING id
         ) SELECT id FROM changed`,
        [id, byKeyId],
      );
      if (changed.length > 0) await alongside(transaction);
    });
    return this.findById(id);
  }

  /** For a master key rotation: rows sealed under another key than `current`, in id order after `after`. */
  async sealedUnderOtherKey(after: string, current: string, limit: number): Promise<BeneficiaryEntity[]> {
    return this.dataSource
      .getRepository(BeneficiaryEntity)
      .createQueryBuilder('b')
      .where('b.id > :after AND b.master_key_id <> :current', { after, current })
      .orderBy('b.id')
      .limit(limit)
      .getMany();
  }

  async storeRewrapped(
    id: string,
    columns: { masterKeyId: string; wrappedKey: Buffer; fingerprint: string },
  ): Promise<void> {
    await this.dataSource.getRepository(BeneficiaryEntity).update({ id }, columns);
  }
}

function toStoredBeneficiary(row: BeneficiaryEntity): StoredBeneficiary {
  return {
    id: row.id,
    rail: row.masked.type,
    label: row.label,
    masked: row.masked,
    status: row.status,
    createdAt: row.createdAt,
    createdByKeyId: row.createdByKeyId,
    disabledAt: row.disabledAt,
    disabledByKeyId: row.disabledByKeyId,
  };
}

function encodeCursor(beneficiary: StoredBeneficiary): string {
  return Buffer.from(`${beneficiary.createdAt.toISOString()}|${beneficiary.id}`, 'utf8').toString('base64url');
}

/** A cursor this service did not write is a 400: only the exact form encodeCursor writes is accepted, before any SQL. */
function decodeCursor(cursor: string): [string, string] {
  const [createdAt, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const exactInstant =
    !!createdAt && !Number.isNaN(Date.parse(createdAt)) && new Date(createdAt).toISOString() === createdAt;
  if (!exactInstant || !id || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) {
    throw new InvalidCursor();
  }
  return [createdAt, id];
}

export class InvalidCursor extends Error {}
