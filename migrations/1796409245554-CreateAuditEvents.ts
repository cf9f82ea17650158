import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The operator audit trail (GET /v1/audit): append-only rows of who did what to keys, credentials, policies, beneficiaries and payouts. */
export class CreateAuditEvents1796409245554 implements MigrationInterface {
  name = 'CreateAuditEvents1796409245554';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "audit_events" ("id" BIGSERIAL NOT NULL, "occurred_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "actor_key_id" uuid, "actor_principal" character varying(100), "action" character varying(60) NOT NULL, "subject_type" character varying(30) NOT NULL, "subject_id" character varying(64), "detail" jsonb NOT NULL DEFAULT '{}', CONSTRAINT "PK_910f64d901a5c3e9878f0d4a407" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_audit_events_actor" ON "audit_events"  ("actor_principal", "id") `);
    await queryRunner.query(
      `CREATE INDEX "ix_audit_events_subject" ON "audit_events"  ("subject_type", "subject_id", "id") `,
    );
    await queryRunner.query(`CREATE INDEX "ix_audit_events_action" ON "audit_events"  ("action", "id") `);
    // Append-only in the database too, not only by code: an UPDATE, DELETE or TRUNCATE fails
    // whoever sends it (insufficient_privilege), so a bug or a stray script cannot rewrite history.
    await queryRunner.query(
      `CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = '42501'; END $$`,
    );
    await queryRunner.query(
      `CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON "audit_events"
       FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER audit_events_append_only ON "audit_events"`);
    await queryRunner.query(`DROP FUNCTION audit_events_append_only()`);
    await queryRunner.query(`DROP INDEX "public"."ix_audit_events_action"`);
    await queryRunner.query(`DROP INDEX "public"."ix_audit_events_subject"`);
    await queryRunner.query(`DROP INDEX "public"."ix_audit_events_actor"`);
    await queryRunner.query(`DROP TABLE "audit_events"`);
  }
}
