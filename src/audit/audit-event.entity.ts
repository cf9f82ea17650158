import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * The operator audit trail: one row per action on keys, credentials, policies, beneficiaries and
 * payouts (approvals, rejections, cancels, holds). Append-only: rows are only ever inserted, in the
 * transaction of the action they record wherever the action has one.
 */
@Entity({ name: 'audit_events' })
@Index('ix_audit_events_action', ['action', 'id'])
@Index('ix_audit_events_subject', ['subjectType', 'subjectId', 'id'])
@Index('ix_audit_events_actor', ['actorPrincipal', 'id'])
export class AuditEventEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @CreateDateColumn({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt!: Date;

  /** The API key that acted; null for the service itself (a job, a sweep). */
  @Column({ name: 'actor_key_id', type: 'uuid', nullable: true })
  actorKeyId!: string | null;

  /** Who acted: the key's owner, `key:<id>` for a key without one, null for the service itself. */
  @Column({ name: 'actor_principal', type: 'varchar', length: 100, nullable: true })
  actorPrincipal!: string | null;

  @Column({ type: 'varchar', length: 60 })
  action!: string;

  @Column({ name: 'subject_type', type: 'varchar', length: 30 })
  subjectType!: string;

  @Column({ name: 'subject_id', type: 'varchar', length: 64, nullable: true })
  subjectId!: string | null;

  /** What changed, without secrets: never a key, a secret, or an unmasked account. */
  @Column({ type: 'jsonb', default: () => `'{}'` })
  detail!: Record<string, unknown>;
}
