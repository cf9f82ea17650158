import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Indexes for lists at scale and for notifications by provider reference (issue 12: a million
 * payouts). Built CONCURRENTLY, so payouts keep being written while they build on a large table;
 * that cannot run inside a transaction, hence `transaction = false`. A concurrent build that
 * fails leaves an invalid index behind: each is dropped first, so running this again starts clean.
 */
export class IndexPayoutLists1795600000000 implements MigrationInterface {
  name = 'IndexPayoutLists1795600000000';
  transaction = false;

  public async up(queryRunner: QueryRunner): Promise<void> {
    const indexes = [
      `"ix_payouts_status_created" ON "payouts" ("status", "created_at", "id")`,
      `"ix_payouts_provider_created" ON "payouts" ("provider", "environment", "created_at", "id")`,
      `"ix_payouts_provider_status_created" ON "payouts" ("provider", "environment", "status", "created_at", "id")`,
      `"ix_payouts_provider_reference" ON "payouts" ("provider", "provider_reference") WHERE provider_reference IS NOT NULL`,
    ];
    for (const index of indexes) {
      await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS ${index.split(' ON ')[0]}`);
      await queryRunner.query(`CREATE INDEX CONCURRENTLY ${index}`);
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    // Plain DROP INDEX: TypeORM runs a revert in a transaction whatever `transaction` says, and a
    // drop is quick (it only waits for the statements using the index).
    await queryRunner.query(`DROP INDEX IF EXISTS "ix_payouts_provider_reference"`);
    await queryRunner.query(`DROP INDEX IF EXISTS "ix_payouts_provider_status_created"`);
    await queryRunner.query(`DROP INDEX IF EXISTS "ix_payouts_provider_created"`);
    await queryRunner.query(`DROP INDEX IF EXISTS "ix_payouts_status_created"`);
  }
}
