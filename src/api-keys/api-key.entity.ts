import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { Scope } from '../common/auth/scopes';
import type { ApiKey, ApiKeySource } from './api-key';

@Entity({ name: 'api_keys' })
export class ApiKeyEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'varchar', length: 100 })
  name!: string;

  /**
   * The person or service that holds the key. Maker-checker compares owners, not keys: two keys
   * of one owner are one principal. Null for keys made before owners existed (the key is then its
   * own principal).
   */
  @Column({ type: 'varchar', length: 100, nullable: true })
  owner!: string | null;

  @Column({ type: 'varchar', length: 16 })
  prefix!: string;

  @Column({ name: 'last_four', type: 'varchar', length: 4 })
  lastFour!: string;

  /** SHA-256 of the key, hex. The key itself is never stored. */
  @Index('uq_api_keys_secret_hash', { unique: true })
  @Column({ name: 'secret_hash', type: 'char', length: 64 })
  secretHash!: string;

  @Column({ type: 'text', array: true })
  scopes!: Scope[];

  @Column({ type: 'varchar', length: 16 })
  source!: ApiKeySource;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'created_by_key_id', type: 'uuid', nullable: true })
  createdByKeyId!: string | null;

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt!: Date | null;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt!: Date | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  @Column({ name: 'revoked_by_key_id', type: 'uuid', nullable: true })
  revokedByKeyId!: string | null;
}

export function toApiKey(row: ApiKeyEntity): ApiKey {
  return {
    id: row.id,
    name: row.name,
    owner: row.owner,
    prefix: row.prefix,
    lastFour: row.lastFour,
    scopes: row.scopes,
    source: row.source,
    createdAt: row.createdAt,
    createdByKeyId: row.createdByKeyId,
    expiresAt: row.expiresAt,
    lastUsedAt: row.lastUsedAt,
    revokedAt: row.revokedAt,
  };
}
