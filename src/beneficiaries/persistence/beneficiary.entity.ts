import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';
import type { MaskedBeneficiary } from '../../payouts/domain/payout';

/**
 * A stored beneficiary: the masked view readable (what answers show), the full one sealed with
 * the vault's envelope scheme (its own data key, bound to the row id), and a keyed fingerprint of
 * the account identifier so that the same account is found without opening anything.
 */
@Entity({ name: 'beneficiaries' })
// One active beneficiary per account and rail: the database refuses a duplicate even when two are stored at once.
@Index('ux_beneficiaries_active_account', ['rail', 'fingerprint'], { unique: true, where: `"status" = 'active'` })
// GET /v1/beneficiaries: newest first, by cursor.
@Index('ix_beneficiaries_list', ['createdAt', 'id'])
export class BeneficiaryEntity {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ type: 'varchar', length: 30 })
  rail!: string;

  @Column({ type: 'varchar', length: 100, nullable: true })
  label!: string | null;

  @Column({ type: 'jsonb' })
  masked!: MaskedBeneficiary;

  @Column({ name: 'master_key_id', type: 'varchar', length: 32 })
  masterKeyId!: string;

  @Column({ name: 'wrapped_key', type: 'bytea' })
  wrappedKey!: Buffer;

  @Column({ type: 'bytea' })
  ciphertext!: Buffer;

  /** HMAC-SHA256 of the canonical account identifier (the payouts' beneficiary_fingerprint, same key). */
  @Column({ type: 'char', length: 64 })
  fingerprint!: string;

  @Column({ type: 'varchar', length: 10, default: 'active' })
  status!: 'active' | 'disabled';

  @Column({ name: 'created_by_key_id', type: 'uuid', nullable: true })
  createdByKeyId!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'disabled_at', type: 'timestamptz', nullable: true })
  disabledAt!: Date | null;

  @Column({ name: 'disabled_by_key_id', type: 'uuid', nullable: true })
  disabledByKeyId!: string | null;
}
