import { Column, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { Provider, ProviderEnvironment } from '../../providers/provider.port';

/**
 * A payout policy: limits and approval rules for the payouts of one currency, optionally narrowed
 * to a provider, an environment and an API key. Null columns mean "any" (scope) or "no such rule".
 * One policy per scope: a unique index on the scope with nulls as "any", built by the migration
 * (an expression index TypeORM cannot express; synchronize: false keeps it).
 */
@Entity({ name: 'payout_policies' })
@Index('ux_payout_policies_scope', { synchronize: false })
export class PayoutPolicyEntity {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ type: 'char', length: 3 })
  currency!: string;

  @Column({ type: 'varchar', length: 16, nullable: true })
  provider!: Provider | null;

  @Column({ type: 'varchar', length: 16, nullable: true })
  environment!: ProviderEnvironment | null;

  @Column({ name: 'api_key_id', type: 'uuid', nullable: true })
  apiKeyId!: string | null;

  @Column({ name: 'max_amount_per_payout', type: 'numeric', precision: 24, scale: 6, nullable: true })
  maxAmountPerPayout!: string | null;

  @Column({ name: 'rolling_24h_max_amount', type: 'numeric', precision: 24, scale: 6, nullable: true })
  rolling24hMaxAmount!: string | null;

  @Column({ name: 'rolling_24h_max_count', type: 'int', nullable: true })
  rolling24hMaxCount!: number | null;

  @Column({ name: 'approval_at_or_above', type: 'numeric', precision: 24, scale: 6, nullable: true })
  approvalAtOrAbove!: string | null;

  @Column({ name: 'approval_first_payout_to_beneficiary', type: 'boolean', default: false })
  approvalFirstPayoutToBeneficiary!: boolean;

  @Column({ name: 'approval_every_payout', type: 'boolean', default: false })
  approvalEveryPayout!: boolean;

  @Column({ name: 'required_approvals', type: 'smallint', default: 1 })
  requiredApprovals!: number;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @Column({ name: 'updated_by_key_id', type: 'uuid', nullable: true })
  updatedByKeyId!: string | null;
}
