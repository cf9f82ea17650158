import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Stored beneficiaries (sealed like credentials), and payouts.beneficiary_id (nullable: adding it
 * rewrites nothing). Keys that held every scope there was keep holding every
 * scope: they get the two new beneficiaries scopes, so an operator is not locked out of the new
 * routes and can grant them. No other key gains anything.
 */

export class CreateBeneficiaries1796400322895 implements MigrationInterface {
  name = 'CreateBeneficiaries1796400322895';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "beneficiaries" ("id" uuid NOT NULL, "rail" character varying(30) NOT NULL, "label" character varying(100), "masked" jsonb NOT NULL, "master_key_id" character varying(32) NOT NULL, "wrapped_key" bytea NOT NULL, "ciphertext" bytea NOT NULL, "fingerprint" character(64) NOT NULL, "status" character varying(10) NOT NULL DEFAULT 'active', "created_by_key_id" uuid, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "disabled_at" TIMESTAMP WITH TIME ZONE, "disabled_by_key_id" uuid, CONSTRAINT "PK_c9356d282dec80f7f12a9eef10a" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_beneficiaries_list" ON "beneficiaries"  ("created_at", "id") `);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "ux_beneficiaries_active_account" ON "beneficiaries"  ("rail", "fingerprint") WHERE "status" = 'active'`,
    );
    // Catalog-only, but it waits for the table's lock: never queue all payout traffic behind a long transaction.
    await queryRunner.query(`SET LOCAL lock_timeout = '10s'`);
    await queryRunner.query(`ALTER TABLE "payouts" ADD "beneficiary_id" uuid`);
    await queryRunner.query(
      `UPDATE "api_keys" SET "scopes" = "scopes" || ARRAY['beneficiaries:read', 'beneficiaries:write']
       WHERE "scopes" @> ARRAY['payouts:read', 'payouts:write', 'accounts:read', 'credentials:admin', 'keys:admin']
         AND NOT "scopes" @> ARRAY['beneficiaries:write']`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `UPDATE "api_keys" SET "scopes" = array_remove(array_remove("scopes", 'beneficiaries:read'), 'beneficiaries:write')`,
    );
    await queryRunner.query(`ALTER TABLE "payouts" DROP COLUMN "beneficiary_id"`);
    await queryRunner.query(`DROP INDEX "public"."ux_beneficiaries_active_account"`);
    await queryRunner.query(`DROP INDEX "public"."ix_beneficiaries_list"`);
    await queryRunner.query(`DROP TABLE "beneficiaries"`);
  }
}
