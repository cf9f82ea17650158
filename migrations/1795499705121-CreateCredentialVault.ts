import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The credential vault: metadata and public material, sealed secrets (envelope-encrypted), and an
 * append-only audit trail whose trigger refuses UPDATE, DELETE and TRUNCATE.
 */
export class CreateCredentialVault1795499705121 implements MigrationInterface {
  name = 'CreateCredentialVault1795499705121';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "credentials" ("id" uuid NOT NULL, "provider" character varying(16) NOT NULL, "environment" character varying(16) NOT NULL, "kind" character varying(32) NOT NULL, "label" character varying(100), "status" character varying(16) NOT NULL, "hints" jsonb NOT NULL DEFAULT '{}', "attributes" jsonb NOT NULL DEFAULT '{}', "subject" text, "issuer" text, "serial_number" character varying(64), "fingerprint_sha256" character(64), "not_before" TIMESTAMP WITH TIME ZONE, "not_after" TIMESTAMP WITH TIME ZONE, "key_algorithm" character varying(32), "csr_pem" text, "certificate_pem" text, "chain_pem" text, "ca_pem" text, "public_key_pem" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "created_by_key_id" uuid, "activated_at" TIMESTAMP WITH TIME ZONE, "rotated_at" TIMESTAMP WITH TIME ZONE, "replaces_id" uuid, "replaced_by_id" uuid, "revoked_at" TIMESTAMP WITH TIME ZONE, "revoked_by_key_id" uuid, CONSTRAINT "PK_1e38bc43be6697cdda548ad27a6" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_credentials_in_service" ON "credentials"  ("provider", "environment", "kind") WHERE "status" IN ('active', 'expiring', 'expired')`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_credentials_provider_environment" ON "credentials"  ("provider", "environment") `,
    );
    await queryRunner.query(
      `CREATE TABLE "credential_secrets" ("credential_id" uuid NOT NULL, "master_key_id" character varying(32) NOT NULL, "wrapped_data_key" bytea NOT NULL, "ciphertext" bytea NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "rewrapped_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_675ea8fe4fff86010660cf97e88" PRIMARY KEY ("credential_id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "credential_events" ("id" BIGSERIAL NOT NULL, "credential_id" uuid, "type" character varying(40) NOT NULL, "actor_key_id" uuid, "actor_name" character varying(100) NOT NULL, "details" jsonb NOT NULL DEFAULT '{}', "occurred_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_985e6c23fc74dd7ae6df5c5b841" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_credential_events_credential" ON "credential_events"  ("credential_id", "occurred_at") `,
    );
    await queryRunner.query(
      `ALTER TABLE "credential_secrets" ADD CONSTRAINT "fk_credential_secrets_credential" FOREIGN KEY ("credential_id") REFERENCES "credentials"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "credential_events" ADD CONSTRAINT "fk_credential_events_credential" FOREIGN KEY ("credential_id") REFERENCES "credentials"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(`
      CREATE FUNCTION "credential_events_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'credential_events is append-only: % is not allowed', TG_OP;
      END;
      $$`);
    await queryRunner.query(`
      CREATE TRIGGER "credential_events_no_update_delete" BEFORE UPDATE OR DELETE ON "credential_events"
      FOR EACH ROW EXECUTE FUNCTION "credential_events_append_only"()`);
    await queryRunner.query(`
      CREATE TRIGGER "credential_events_no_truncate" BEFORE TRUNCATE ON "credential_events"
      FOR EACH STATEMENT EXECUTE FUNCTION "credential_events_append_only"()`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER "credential_events_no_truncate" ON "credential_events"`);
    await queryRunner.query(`DROP TRIGGER "credential_events_no_update_delete" ON "credential_events"`);
    await queryRunner.query(`DROP FUNCTION "credential_events_append_only"()`);
    await queryRunner.query(`ALTER TABLE "credential_events" DROP CONSTRAINT "fk_credential_events_credential"`);
    await queryRunner.query(`ALTER TABLE "credential_secrets" DROP CONSTRAINT "fk_credential_secrets_credential"`);
    await queryRunner.query(`DROP INDEX "public"."ix_credential_events_credential"`);
    await queryRunner.query(`DROP TABLE "credential_events"`);
    await queryRunner.query(`DROP TABLE "credential_secrets"`);
    await queryRunner.query(`DROP INDEX "public"."ix_credentials_provider_environment"`);
    await queryRunner.query(`DROP INDEX "public"."uq_credentials_in_service"`);
    await queryRunner.query(`DROP TABLE "credentials"`);
  }
}
