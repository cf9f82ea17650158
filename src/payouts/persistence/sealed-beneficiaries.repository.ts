import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Transaction } from '../../database/unit-of-work';
import type { Beneficiary } from '../../providers/provider.port';
import type { BeneficiaryColumns } from '../beneficiary/payout-beneficiaries';
import type { SealedSecret } from '../../credentials/crypto/envelope';

/** The sealed beneficiary of a payouts row: its data key wrapped under masterKeyId, and the ciphertext. */
export interface SealedBeneficiaryRow {
  id: string;
  sealed: SealedSecret;
}

/**
 * The payouts table's beneficiary columns, for the sealing job and the master key rotation (not the
 * payout hot path). Rows are claimed in primary key order under row locks, like the reconciler.
 */
@Injectable()
export class SealedBeneficiariesRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Rows written before beneficiaries were sealed, with their plaintext; rows locked elsewhere are skipped. */
  async lockUnsealed(
    transaction: Transaction,
    limit: number,
  ): Promise<Array<{ id: string; beneficiary: Beneficiary }>> {
    return transaction.query(
      `SELECT id, beneficiary FROM payouts WHERE beneficiary_ciphertext IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
    );
  }

  /** Stores a legacy row's sealed columns (and its masked view), unless another replica sealed it first. */
  async storeSealed(transaction: Transaction, id: string, columns: BeneficiaryColumns): Promise<void> {
    // updated_at is left alone: nothing about the payout changed.
    await transaction.query(
      `UPDATE payouts SET beneficiary = $2, beneficiary_master_key_id = $3, beneficiary_wrapped_key = $4, beneficiary_ciphertext = $5, beneficiary_fingerprint = $6
        WHERE id = $1 AND beneficiary_ciphertext IS NULL`,
      [
        id,
        JSON.stringify(columns.beneficiary),
        columns.beneficiaryMasterKeyId,
        columns.beneficiaryWrappedKey,
        columns.beneficiaryCiphertext,
        columns.beneficiaryFingerprint,
      ],
    );
  }

  /** The next rows after `afterId` sealed under another master key than `currentMasterKeyId`; waits for (does not skip) locked rows. */
  async lockSealedUnderOtherKey(
    transaction: Transaction,
    afterId: string,
    currentMasterKeyId: string,
    limit: number,
  ): Promise<SealedBeneficiaryRow[]> {
    const rows: Array<{
      id: string;
      beneficiary_master_key_id: string;
      beneficiary_wrapped_key: Buffer;
      beneficiary_ciphertext: Buffer;
    }> = await transaction.query(
      `SELECT id, beneficiary_master_key_id, beneficiary_wrapped_key, beneficiary_ciphertext FROM payouts
        WHERE id > $1 AND beneficiary_master_key_id <> $2 ORDER BY id LIMIT $3 FOR UPDATE`,
      [afterId, currentMasterKeyId, limit],
    );
    return rows.map((row) => ({
      id: row.id,
      sealed: {
        masterKeyId: row.beneficiary_master_key_id,
        wrappedDataKey: row.beneficiary_wrapped_key,
        ciphertext: row.beneficiary_ciphertext,
      },
    }));
  }

  async storeRewrapped(
    transaction: Transaction,
    id: string,
    columns: Pick<BeneficiaryColumns, 'beneficiaryMasterKeyId' | 'beneficiaryWrappedKey' | 'beneficiaryFingerprint'>,
  ): Promise<void> {
    await transaction.query(
      `UPDATE payouts SET beneficiary_master_key_id = $2, beneficiary_wrapped_key = $3, beneficiary_fingerprint = $4 WHERE id = $1`,
      [id, columns.beneficiaryMasterKeyId, columns.beneficiaryWrappedKey, columns.beneficiaryFingerprint],
    );
  }

  /** Payout ids whose fingerprint is one of these, newest first. */
  async idsByFingerprint(fingerprints: string[], limit: number): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.dataSource.query(
      // bpchar[], like the column: compared as text[] the index would not be used.
      `SELECT id FROM payouts WHERE beneficiary_fingerprint = ANY($1::bpchar[]) ORDER BY created_at DESC, id DESC LIMIT $2`,
      [fingerprints, limit],
    );
    return rows.map((row) => row.id);
  }
}
