import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Money-out controls (issue 14): payout policies (limits and approval rules), maker-checker
 * approvals, and API key owners. Adding nullable or defaulted columns to payouts and api_keys is
 * catalog-only (no rewrite). The payouts indexes these need are built CONCURRENTLY by the next
 * migration. Keys that held every scope there was keep holding every scope (they get the new
 * ones), so an operator is not locked out of the new routes and can grant them; no other key
 * gains anything.
 */
export class PayoutControls1796407627735 implements MigrationInterface {
  name = 'PayoutControls1796407627735';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "payout_approvals" ("id" BIGSERIAL NOT NULL, "payout_id" uuid NOT NULL, "decision" character varying(10) NOT NULL, "principal" character varying(100) NOT NULL, "api_key_id" uuid NOT NULL, "comment" character varying(500), "decided_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_26d336e39dfe07cb5f574c36cb3" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "ux_payout_approvals_principal" ON "payout_approvals"  ("payout_id", "principal", "decision") `,
    );
    await queryRunner.query(
      `CREATE TABLE "payout_policies" ("id" uuid NOT NULL, "currency" character(3) NOT NULL, "provider" character varying(16), "environment" character varying(16), "api_key_id" uuid, "max_amount_per_payout" numeric(24,6), "rolling_24h_max_amount" numeric(24,6), "rolling_24h_max_count" integer, "approval_at_or_above" numeric(24,6), "approval_first_payout_to_beneficiary" boolean NOT NULL DEFAULT false, "approval_every_payout" boolean NOT NULL DEFAULT false, "required_approvals" smallint NOT NULL DEFAULT '1', "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_by_key_id" uuid, CONSTRAINT "PK_38fb45f9a98cec9c984665c58b9" PRIMARY KEY ("id"))`,
    );
    // Decisions are history: append-only in the database, like payout_events.
    await queryRunner.query(
      `CREATE FUNCTION "payout_approvals_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'payout_approvals is append-only: % is not allowed', TG_OP; END $$`,
    );
    await queryRunner.query(
      `CREATE TRIGGER "payout_approvals_append_only" BEFORE UPDATE OR DELETE OR TRUNCATE ON "payout_approvals"
       FOR EACH STATEMENT EXECUTE FUNCTION "payout_approvals_append_only"()`,
    );
    // One policy per scope; a null scope column means "any", so nulls must compare equal here.
    await queryRunner.query(
      `CREATE UNIQUE INDEX "ux_payout_policies_scope" ON "payout_policies" ("currency", COALESCE("provider", ''), COALESCE("environment", ''), COALESCE("api_key_id", '00000000-0000-0000-0000-000000000000'))`,
    );
    // Catalog-only, but each waits for the table's lock: never queue all traffic behind a long transaction.
    await queryRunner.query(`SET LOCAL lock_timeout = '10s'`);
    await queryRunner.query(`ALTER TABLE "api_keys" ADD "owner" character varying(100)`);
    // The admin keys the service made itself are one principal, whichever key carries it now.
    await queryRunner.query(`UPDATE "api_keys" SET "owner" = 'admin' WHERE "source" IN ('environment', 'bootstrap')`);
    await queryRunner.query(`ALTER TABLE "payouts" ADD "approvals_required" smallint NOT NULL DEFAULT '0'`);
    await queryRunner.query(`ALTER TABLE "payouts" ADD "approval_expires_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "payouts" ADD "counted_at" TIMESTAMP WITH TIME ZONE`);
    // Payouts of the last day count against limits from the start: one day of rows, not the table.
    await queryRunner.query(
      `UPDATE "payouts" SET "counted_at" = "created_at" WHERE "created_at" > now() - interval '25 hours'`,
    );
    await queryRunner.query(
      `ALTER TABLE "payout_approvals" ADD CONSTRAINT "fk_payout_approvals_payout" FOREIGN KEY ("payout_id") REFERENCES "payouts"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `UPDATE "api_keys" SET "scopes" = "scopes" || ARRAY['payouts:approve', 'policies:read', 'policies:write', 'audit:read']
       WHERE "scopes" @> ARRAY['payouts:read', 'payouts:write', 'beneficiaries:read', 'beneficiaries:write', 'accounts:read', 'credentials:admin', 'keys:admin']
         AND NOT "scopes" @> ARRAY['payouts:approve']`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`SET LOCAL lock_timeout = '10s'`);
    // The previous version has no pending_approval status: payouts still waiting (never sent) are cancelled.
    await queryRunner.query(
      `UPDATE "payouts" SET "status" = 'cancelled', "failure_code" = 'APPROVAL_EXPIRED',
         "failure_reason" = 'Cancelled, never sent: approvals were removed by a rollback.', "next_check_at" = NULL
       WHERE "status" = 'pending_approval'`,
    );
    await queryRunner.query(
      `UPDATE "api_keys" SET "scopes" = array_remove(array_remove(array_remove(array_remove("scopes", 'payouts:approve'), 'policies:read'), 'policies:write'), 'audit:read')`,
    );
    await queryRunner.query(`ALTER TABLE "payout_approvals" DROP CONSTRAINT "fk_payout_approvals_payout"`);
    await queryRunner.query(`ALTER TABLE "payouts" DROP COLUMN "counted_at"`);
    await queryRunner.query(`ALTER TABLE "payouts" DROP COLUMN "approval_expires_at"`);
    await queryRunner.query(`ALTER TABLE "payouts" DROP COLUMN "approvals_required"`);
    await queryRunner.query(`ALTER TABLE "api_keys" DROP COLUMN "owner"`);
    await queryRunner.query(`DROP INDEX "public"."ux_payout_policies_scope"`);
    await queryRunner.query(`DROP TABLE "payout_policies"`);
    await queryRunner.query(`DROP TRIGGER "payout_approvals_append_only" ON "payout_approvals"`);
    await queryRunner.query(`DROP FUNCTION "payout_approvals_append_only"()`);
    await queryRunner.query(`DROP INDEX "public"."ux_payout_approvals_principal"`);
    await queryRunner.query(`DROP TABLE "payout_approvals"`);
  }
}
