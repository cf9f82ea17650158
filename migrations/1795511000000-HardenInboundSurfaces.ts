import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Inbound hardening: cluster-wide rate-limit counters, the per-payout notification fetch window,
 * a liveness-checked owner and lease on idempotency claims, and a reconciler index that also
 * finds final payouts with a follow-up check due (D24's documented reversal of a completed one).
 */
export class HardenInboundSurfaces1795511000000 implements MigrationInterface {
  name = 'HardenInboundSurfaces1795511000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    // Counters are throwaway (a window lasts seconds): UNLOGGED spares the WAL and the fsync.
    await queryRunner.query(
      `CREATE UNLOGGED TABLE "rate_limit_counters" ("bucket" text NOT NULL, "window_start" bigint NOT NULL, "hits" integer NOT NULL, CONSTRAINT "pk_rate_limit_counters" PRIMARY KEY ("bucket", "window_start"))`,
    );
    await queryRunner.query(`ALTER TABLE "payouts" ADD "webhook_fetch_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "idempotency_keys" ADD "owner_instance" integer`);
    await queryRunner.query(`ALTER TABLE "idempotency_keys" ADD "lease_until" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`DROP INDEX "public"."ix_payouts_status_check"`);
    await queryRunner.query(
      `CREATE INDEX "ix_payouts_next_check" ON "payouts" ("next_check_at") WHERE next_check_at IS NOT NULL`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."ix_payouts_next_check"`);
    await queryRunner.query(`CREATE INDEX "ix_payouts_status_check" ON "payouts" ("status", "next_check_at") `);
    await queryRunner.query(`ALTER TABLE "idempotency_keys" DROP COLUMN "lease_until"`);
    await queryRunner.query(`ALTER TABLE "idempotency_keys" DROP COLUMN "owner_instance"`);
    await queryRunner.query(`ALTER TABLE "payouts" DROP COLUMN "webhook_fetch_at"`);
    await queryRunner.query(`DROP TABLE "rate_limit_counters"`);
  }
}
