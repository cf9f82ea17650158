import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Payouts, their append-only history (a trigger refuses UPDATE, DELETE and TRUNCATE), idempotency
 * keys, and inbound webhook deliveries.
 */
export class CreatePayouts1795502501646 implements MigrationInterface {
  name = 'CreatePayouts1795502501646';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "payouts" ("id" uuid NOT NULL, "provider" character varying(16) NOT NULL, "environment" character varying(16) NOT NULL, "status" character varying(16) NOT NULL, "amount" numeric(24,6) NOT NULL, "currency" character(3) NOT NULL, "beneficiary" jsonb NOT NULL, "reference" character varying(140), "metadata" jsonb NOT NULL DEFAULT '{}', "provider_reference" character varying(100), "provider_status" character varying(40), "failure_code" character varying(60), "failure_reason" text, "fees" jsonb, "created_by_key_id" uuid, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "next_check_at" TIMESTAMP WITH TIME ZONE, "check_attempts" integer NOT NULL DEFAULT '0', CONSTRAINT "PK_76855dc4f0a6c18c72eea302e87" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_payouts_reference" ON "payouts"  ("reference") `);
    await queryRunner.query(`CREATE INDEX "ix_payouts_status_check" ON "payouts"  ("status", "next_check_at") `);
    await queryRunner.query(`CREATE INDEX "ix_payouts_created" ON "payouts"  ("created_at", "id") `);
    await queryRunner.query(
      `CREATE TABLE "payout_events" ("id" BIGSERIAL NOT NULL, "payout_id" uuid NOT NULL, "type" character varying(40) NOT NULL, "from_status" character varying(16), "to_status" character varying(16), "detail" jsonb NOT NULL DEFAULT '{}', "occurred_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_0fa007743480d40bf7406d4835b" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_payout_events_payout" ON "payout_events"  ("payout_id", "id") `);
    await queryRunner.query(
      `CREATE TABLE "idempotency_keys" ("api_key_id" uuid NOT NULL, "idempotency_key" character varying(255) NOT NULL, "request_hash" character(64) NOT NULL, "payout_id" uuid NOT NULL, "response_status" integer, "response_body" jsonb, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_6e4f3756ac0e45e2318df856c14" PRIMARY KEY ("api_key_id", "idempotency_key"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_idempotency_keys_expires" ON "idempotency_keys"  ("expires_at") `);
    await queryRunner.query(
      `CREATE TABLE "webhook_deliveries" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "provider" character varying(16) NOT NULL, "environment" character varying(16), "delivery_id" character varying(300) NOT NULL, "payout_id" uuid, "outcome" character varying(32) NOT NULL, "received_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_535dd409947fb6d8fc6dfc0112a" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_webhook_deliveries_delivery" ON "webhook_deliveries"  ("provider", "delivery_id") `,
    );
    await queryRunner.query(
      `ALTER TABLE "payout_events" ADD CONSTRAINT "fk_payout_events_payout" FOREIGN KEY ("payout_id") REFERENCES "payouts"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(`
      CREATE FUNCTION "payout_events_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'payout_events is append-only: % is not allowed', TG_OP;
      END;
      $$`);
    await queryRunner.query(`
      CREATE TRIGGER "payout_events_no_update_delete" BEFORE UPDATE OR DELETE ON "payout_events"
      FOR EACH ROW EXECUTE FUNCTION "payout_events_append_only"()`);
    await queryRunner.query(`
      CREATE TRIGGER "payout_events_no_truncate" BEFORE TRUNCATE ON "payout_events"
      FOR EACH STATEMENT EXECUTE FUNCTION "payout_events_append_only"()`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER "payout_events_no_truncate" ON "payout_events"`);
    await queryRunner.query(`DROP TRIGGER "payout_events_no_update_delete" ON "payout_events"`);
    await queryRunner.query(`DROP FUNCTION "payout_events_append_only"()`);
    await queryRunner.query(`ALTER TABLE "payout_events" DROP CONSTRAINT "fk_payout_events_payout"`);
    await queryRunner.query(`DROP INDEX "public"."uq_webhook_deliveries_delivery"`);
    await queryRunner.query(`DROP TABLE "webhook_deliveries"`);
    await queryRunner.query(`DROP INDEX "public"."ix_idempotency_keys_expires"`);
    await queryRunner.query(`DROP TABLE "idempotency_keys"`);
    await queryRunner.query(`DROP INDEX "public"."ix_payout_events_payout"`);
    await queryRunner.query(`DROP TABLE "payout_events"`);
    await queryRunner.query(`DROP INDEX "public"."ix_payouts_created"`);
    await queryRunner.query(`DROP INDEX "public"."ix_payouts_status_check"`);
    await queryRunner.query(`DROP INDEX "public"."ix_payouts_reference"`);
    await queryRunner.query(`DROP TABLE "payouts"`);
  }
}
