import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Payout batches (issue 15): a batch, its rows (each stored sealed before any is sent, claimed for
 * sending through the partial index of rows still to send) and its approvals (append-only, as
 * payout_approvals). New tables, so nothing here waits on traffic.
 */
export class PayoutBatches1796462082428 implements MigrationInterface {
  name = 'PayoutBatches1796462082428';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "payout_batches" ("id" uuid NOT NULL, "status" character varying(20) NOT NULL, "approvals_required" smallint NOT NULL DEFAULT '0', "approval_reasons" jsonb NOT NULL DEFAULT '[]', "approval_expires_at" TIMESTAMP WITH TIME ZONE, "api_key_id" uuid NOT NULL, "idempotency_key" character varying(255) NOT NULL, "request_hash" character(64) NOT NULL, "created_by_principal" character varying(100) NOT NULL, "source" character varying(10) NOT NULL, "file_name" character varying(255), "item_count" integer NOT NULL, "skipped_count" integer NOT NULL DEFAULT '0', "skipped" jsonb NOT NULL DEFAULT '[]', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "cancelled_at" TIMESTAMP WITH TIME ZONE, "completed_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "uq_payout_batches_idempotency" UNIQUE ("api_key_id", "idempotency_key"), CONSTRAINT "PK_aa57cb1e16d39cc0d41083145e4" PRIMARY KEY ("id"))`,
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
      `CREATE TABLE "payout_batch_approvals" ("batch_id" uuid NOT NULL, "principal" character varying(100) NOT NULL, "decision" character varying(10) NOT NULL, "api_key_id" uuid NOT NULL, "comment" character varying(500), "decided_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_e6a7becd6ced9d52fe7b75d3644" PRIMARY KEY ("batch_id", "principal", "decision"))`,
    );
    await queryRunner.query(
      `ALTER TABLE "payout_batch_items" ADD CONSTRAINT "fk_payout_batch_items_batch" FOREIGN KEY ("batch_id") REFERENCES "payout_batches"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "payout_batch_approvals" ADD CONSTRAINT "fk_payout_batch_approvals_batch" FOREIGN KEY ("batch_id") REFERENCES "payout_batches"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    // Decisions are history: an UPDATE, DELETE or TRUNCATE fails whoever sends it.
    await queryRunner.query(
      `CREATE FUNCTION "payout_batch_approvals_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'payout_batch_approvals is append-only: % is not allowed', TG_OP; END $$`,
    );
    await queryRunner.query(
      `CREATE TRIGGER "payout_batch_approvals_append_only" BEFORE UPDATE OR DELETE OR TRUNCATE ON "payout_batch_approvals"
       FOR EACH STATEMENT EXECUTE FUNCTION "payout_batch_approvals_append_only"()`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER "payout_batch_approvals_append_only" ON "payout_batch_approvals"`);
    await queryRunner.query(`DROP FUNCTION "payout_batch_approvals_append_only"()`);
    await queryRunner.query(`ALTER TABLE "payout_batch_approvals" DROP CONSTRAINT "fk_payout_batch_approvals_batch"`);
    await queryRunner.query(`ALTER TABLE "payout_batch_items" DROP CONSTRAINT "fk_payout_batch_items_batch"`);
    await queryRunner.query(`DROP TABLE "payout_batch_approvals"`);
    await queryRunner.query(`DROP INDEX "public"."ix_payout_batch_items_due"`);
    await queryRunner.query(`DROP INDEX "public"."ix_payout_batch_items_payout"`);
    await queryRunner.query(`DROP TABLE "payout_batch_items"`);
    await queryRunner.query(`DROP INDEX "public"."ix_payout_batches_created"`);
    await queryRunner.query(`DROP TABLE "payout_batches"`);
  }
}
