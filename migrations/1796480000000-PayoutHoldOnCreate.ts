import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * payouts.hold_on_create: a payout asked to be created parked at its provider. Kept on the row so
 * every submission (the reconciler's resubmissions after a crash or a lost answer included) asks
 * for the hold, not only the first. A constant default: no table rewrite on PostgreSQL 11+.
 */
export class PayoutHoldOnCreate1796480000000 implements MigrationInterface {
  name = 'PayoutHoldOnCreate1796480000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "payouts" ADD "hold_on_create" boolean NOT NULL DEFAULT false`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "payouts" DROP COLUMN "hold_on_create"`);
  }
}
