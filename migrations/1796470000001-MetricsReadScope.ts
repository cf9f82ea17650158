import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The metrics:read scope (GET /metrics, issue 16). Keys that held every scope before it existed
 * (the admin keys) get it too, as with the scopes added before; no other key gains anything.
 */
export class MetricsReadScope1796470000001 implements MigrationInterface {
  name = 'MetricsReadScope1796470000001';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `UPDATE "api_keys" SET "scopes" = "scopes" || ARRAY['metrics:read']
       WHERE "scopes" @> ARRAY['payouts:read', 'payouts:write', 'payouts:approve', 'beneficiaries:read', 'beneficiaries:write',
         'policies:read', 'policies:write', 'audit:read', 'accounts:read', 'credentials:admin', 'keys:admin']
         AND NOT "scopes" @> ARRAY['metrics:read']`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`UPDATE "api_keys" SET "scopes" = array_remove("scopes", 'metrics:read')`);
  }
}
