import type { MigrationInterface, QueryRunner } from 'typeorm';

/** API keys: only a SHA-256 of each key is stored, with a display prefix and the last four characters. */
export class CreateApiKeys1795499048779 implements MigrationInterface {
  name = 'CreateApiKeys1795499048779';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "api_keys" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "name" character varying(100) NOT NULL,
        "prefix" character varying(16) NOT NULL,
        "last_four" character varying(4) NOT NULL,
        "secret_hash" character(64) NOT NULL,
        "scopes" text array NOT NULL,
        "source" character varying(16) NOT NULL,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "created_by_key_id" uuid,
        "expires_at" TIMESTAMP WITH TIME ZONE,
        "last_used_at" TIMESTAMP WITH TIME ZONE,
        "revoked_at" TIMESTAMP WITH TIME ZONE,
        "revoked_by_key_id" uuid,
        CONSTRAINT "PK_5c8a79801b44bd27b79228e1dad" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_api_keys_secret_hash" ON "api_keys" ("secret_hash")`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."uq_api_keys_secret_hash"`);
    await queryRunner.query(`DROP TABLE "api_keys"`);
  }
}
