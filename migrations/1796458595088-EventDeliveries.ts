import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The delivery log (attempt status, latency, redeliveries, single-attempt pings) and signing-secret
 * rotation with an overlap (issue 15). The new columns are nullable or have a constant default,
 * so adding them does not rewrite the tables. The index for a subscription's deliveries is built
 * CONCURRENTLY so payouts (which write the outbox) keep committing while it builds; that cannot
 * run in a transaction, hence `transaction = false`, and every step may run again after a failure.
 */
export class EventDeliveries1796458595088 implements MigrationInterface {
  name = 'EventDeliveries1796458595088';
  transaction = false;

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "event_subscriptions" ADD COLUMN IF NOT EXISTS "previous_master_key_id" character varying(32),
         ADD COLUMN IF NOT EXISTS "previous_wrapped_data_key" bytea,
         ADD COLUMN IF NOT EXISTS "previous_ciphertext" bytea,
         ADD COLUMN IF NOT EXISTS "previous_secret_expires_at" TIMESTAMP WITH TIME ZONE,
         ADD COLUMN IF NOT EXISTS "secret_rotated_at" TIMESTAMP WITH TIME ZONE`,
    );
    await queryRunner.query(
      `ALTER TABLE "outbound_events" ADD COLUMN IF NOT EXISTS "max_attempts" smallint NOT NULL DEFAULT '15',
         ADD COLUMN IF NOT EXISTS "last_attempt_at" TIMESTAMP WITH TIME ZONE,
         ADD COLUMN IF NOT EXISTS "last_response_status" smallint,
         ADD COLUMN IF NOT EXISTS "last_latency_ms" integer,
         ADD COLUMN IF NOT EXISTS "redelivery_of" bigint`,
    );
    await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS "ix_outbound_events_subscription"`);
    await queryRunner.query(
      `CREATE INDEX CONCURRENTLY "ix_outbound_events_subscription" ON "outbound_events" ("subscription_id", "id")`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX IF EXISTS "ix_outbound_events_subscription"`);
    await queryRunner.query(
      `ALTER TABLE "outbound_events" DROP COLUMN "redelivery_of", DROP COLUMN "last_latency_ms",
         DROP COLUMN "last_response_status", DROP COLUMN "last_attempt_at", DROP COLUMN "max_attempts"`,
    );
    await queryRunner.query(
      `ALTER TABLE "event_subscriptions" DROP COLUMN "secret_rotated_at", DROP COLUMN "previous_secret_expires_at",
         DROP COLUMN "previous_ciphertext", DROP COLUMN "previous_wrapped_data_key", DROP COLUMN "previous_master_key_id"`,
    );
  }
}
