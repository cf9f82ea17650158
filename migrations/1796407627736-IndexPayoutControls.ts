import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The payouts indexes the money-out controls read, built CONCURRENTLY so payouts keep being
 * written while they build on a large table (hence `transaction = false`; an invalid index left
 * by a failed build is dropped first, so running this again starts clean):
 * - rolling 24 h limits sum one currency's recently counted payouts by amount and status, narrowed by
 *   provider, environment or key: an index-only range scan with those columns INCLUDEd;
 * - the approval sweep finds expired pending_approval payouts (partial: only those have an expiry).
 */
export class IndexPayoutControls1796407627736 implements MigrationInterface {
  name = 'IndexPayoutControls1796407627736';
  transaction = false;

  public async up(queryRunner: QueryRunner): Promise<void> {
    const indexes = [
      `"ix_payouts_currency_counted" ON "payouts" ("currency", "counted_at") INCLUDE ("amount", "status", "provider", "environment", "created_by_key_id")`,
      `"ix_payouts_approval_expiry" ON "payouts" ("approval_expires_at") WHERE status = 'pending_approval'`,
    ];
    for (const index of indexes) {
      await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS ${index.split(' ON ')[0]}`);
      await queryRunner.query(`CREATE INDEX CONCURRENTLY ${index}`);
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX IF EXISTS "ix_payouts_approval_expiry"`);
    await queryRunner.query(`DROP INDEX IF EXISTS "ix_payouts_currency_counted"`);
  }
}
