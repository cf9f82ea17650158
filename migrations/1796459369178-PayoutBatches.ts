import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Payout batches (issue 15): a batch and its rows, each row stored sealed before any is sent and
 * claimed for sending through the partial index of rows still to send. New tables, so nothing
 * here waits on traffic.
 */
export class PayoutBatches1796459369178 implements MigrationInterface {
  name = 'PayoutBatches1796459369178';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "payout_batches" ("id" uuid NOT NULL, "status" character varying(20) NOT NULL, "api_key_id" uuid NOT NULL, "idempotency_key" character varying(255) NOT NULL, "request_hash" character(64) NOT NULL, "created_by_principal" character varying(100) NOT NULL, "source" character varying(10) NOT NULL, "file_name" character varying(255), "item_count" integer NOT NULL, "skipped_count" integer NOT NULL DEFAULT '0', "skipped" jsonb NOT NULL DEFAULT '[]', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "cancelled_at" TIMESTAMP WITH TIME ZONE, "completed_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "uq_payout_batches_idempotency" UNIQUE ("api_key_id", "idempotency_key"), CONSTRAINT "PK_aa57cb1e16d39cc0d41083145e4" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_payout_batches_created" ON "payout_batches"  ("created_at", "id") `);
    await queryRunner.query(
      `CREATE TABLE "payout_batch_items" ("batch_id" uuid NOT NULL, "row" integer NOT NULL, "row_key" character varying(200) NOT NULL, "status" character varying(20) NOT NULL, "provider" character varying(20) NOT NULL, "environment" character varying(20) NOT NULL, "amount" numeric(20,6) NOT NULL, "currency" character(3) NOT NULL, "reference" character varying(140), "beneficiary_view" jsonb NOT NULL, "master_key_id" character varying(32) NOT NULL, "wrapped_data_key" bytea NOT NULL, "ciphertext" bytea NOT NULL, "due_at" TIMESTAMP WITH TIME ZONE NOT NULL, "attempts" smallint NOT NULL DEFAULT '0', "owner_instance" integer, "payout_id" uuid, "error_code" character varying(60), "error_message" character varying(300), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_ecbb28ea7784a73296fc7b848f9" PRIMARY KEY ("batch_id", "row"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_payout_batch_items_payout" ON "payout_batch_items"  ("payout_id") WHERE payout_id IS NOT NULL`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_payout_batch_items_due" ON "payout_batch_items"  ("provider", "due_at") WHERE status IN ('queued', 'sending')`,
    );
    await queryRunner.query(
      `ALTER TABLE "payout_batch_items" ADD CONSTRAINT "fk_payout_batch_items_batch" FOREIGN KEY ("batch_id") REFERENCES "payout_batches"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "payout_batch_items" DROP CONSTRAINT "fk_payout_batch_items_batch"`);
    await queryRunner.query(`DROP INDEX "public"."ix_payout_batch_items_due"`);
    await queryRunner.query(`DROP INDEX "public"."ix_payout_batch_items_payout"`);
    await queryRunner.query(`DROP TABLE "payout_batch_items"`);
    await queryRunner.query(`DROP INDEX "public"."ix_payout_batches_created"`);
    await queryRunner.query(`DROP TABLE "payout_batches"`);
  }
}
