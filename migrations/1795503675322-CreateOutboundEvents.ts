import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateOutboundEvents1795503675322 implements MigrationInterface {
  name = 'CreateOutboundEvents1795503675322';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "event_subscriptions" ("id" uuid NOT NULL, "url" character varying(2048) NOT NULL, "events" text array NOT NULL, "secret_last_four" character varying(4) NOT NULL, "master_key_id" character varying(32) NOT NULL, "wrapped_data_key" bytea NOT NULL, "ciphertext" bytea NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "created_by_key_id" uuid, "disabled_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_9e4944140dfbdb8a75c8f3d9bce" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "outbound_events" ("id" BIGSERIAL NOT NULL, "subscription_id" uuid NOT NULL, "type" character varying(60) NOT NULL, "payload" jsonb NOT NULL, "attempts" integer NOT NULL DEFAULT '0', "next_attempt_at" TIMESTAMP WITH TIME ZONE NOT NULL, "delivered_at" TIMESTAMP WITH TIME ZONE, "last_error" character varying(300), "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_b6645833210b8f642e2ea142c60" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_outbound_events_due" ON "outbound_events"  ("delivered_at", "next_attempt_at") `,
    );
    await queryRunner.query(
      `ALTER TABLE "outbound_events" ADD CONSTRAINT "fk_outbound_events_subscription" FOREIGN KEY ("subscription_id") REFERENCES "event_subscriptions"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "outbound_events" DROP CONSTRAINT "fk_outbound_events_subscription"`);
    await queryRunner.query(`DROP INDEX "public"."ix_outbound_events_due"`);
    await queryRunner.query(`DROP TABLE "outbound_events"`);
    await queryRunner.query(`DROP TABLE "event_subscriptions"`);
  }
}
