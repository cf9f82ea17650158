import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Partial indexes for the batch runner's sweeps, so they read the open batches and the rows in
 * flight rather than every batch and row ever uploaded. Built CONCURRENTLY (batches keep being
 * uploaded and sent while they build), which cannot run in a transaction, hence
 * `transaction = false`; each step may run again after a failure.
 */
export class BatchSweepIndexes1796470000000 implements MigrationInterface {
  name = 'BatchSweepIndexes1796470000000';
  transaction = false;

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS "ix_payout_batches_open"`);
    await queryRunner.query(
      `CREATE INDEX CONCURRENTLY "ix_payout_batches_open" ON "payout_batches" ("status", "approval_expires_at") WHERE status IN ('pending_approval', 'processing')`,
    );
    await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS "ix_payout_batch_items_sending"`);
    await queryRunner.query(
      `CREATE INDEX CONCURRENTLY "ix_payout_batch_items_sending" ON "payout_batch_items" ("owner_instance") WHERE status = 'sending'`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX IF EXISTS "ix_payout_batch_items_sending"`);
    await queryRunner.query(`DROP INDEX IF EXISTS "ix_payout_batches_open"`);
  }
}
