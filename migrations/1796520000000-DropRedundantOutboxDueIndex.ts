import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every query of the outbox reads undelivered rows only (the claim, the backlog gauge, disabling a
 * subscription, a redelivery's check), and ix_outbound_events_pending (partial on delivered_at IS
 * NULL) serves each of them: checked with EXPLAIN ANALYZE on 300,000 events, 30,000 of them
 * waiting. ix_outbound_events_due (delivered_at, next_attempt_at) indexed every event ever sent
 * as well, and was written on every insert and every attempt. CONCURRENTLY outside a
 * transaction (events keep being written meanwhile); it may run again.
 */
export class DropRedundantOutboxDueIndex1796520000000 implements MigrationInterface {
  name = 'DropRedundantOutboxDueIndex1796520000000';
  transaction = false;

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS "ix_outbound_events_due"`);
  }

  // Not CONCURRENTLY: a revert runs in the migrator's transaction (npm run migration:revert).
  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX IF NOT EXISTS "ix_outbound_events_due" ON "outbound_events" ("delivered_at", "next_attempt_at")`,
    );
  }
}
