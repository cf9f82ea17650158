import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Payout beneficiaries sealed at rest: the full beneficiary in envelope-sealed columns, a keyed
 * fingerprint for equality lookups, and the readable column keeping only the masked view.
 *
 * SQL cannot encrypt, so rows that exist already are sealed by BeneficiarySealing when the service
 * boots (src/payouts/beneficiary/beneficiary-sealing.ts); hence the sealed columns are nullable (as
 * they must be anyway while replicas of the previous version keep inserting during a rolling
 * deploy), and ix_payouts_beneficiary_unsealed (partial) finds what is left in one index probe.
 */
export class SealPayoutBeneficiaries1795511042130 implements MigrationInterface {
  name = 'SealPayoutBeneficiaries1795511042130';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "payouts" ADD "beneficiary_master_key_id" character varying(32)`);
    await queryRunner.query(`ALTER TABLE "payouts" ADD "beneficiary_wrapped_key" bytea`);
    await queryRunner.query(`ALTER TABLE "payouts" ADD "beneficiary_ciphertext" bytea`);
    await queryRunner.query(`ALTER TABLE "payouts" ADD "beneficiary_fingerprint" character(64)`);
    await queryRunner.query(
      `CREATE INDEX "ix_payouts_beneficiary_fingerprint" ON "payouts" ("beneficiary_fingerprint") `,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_payouts_beneficiary_unsealed" ON "payouts" ("id") WHERE "beneficiary_ciphertext" IS NULL`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    // Dropping the sealed columns loses the full beneficiary (the readable column is masked). A
    // payout that is not final may still be sent to its provider by the previous version, which
    // would then send the masked values: refuse until those are final.
    const [{ open }] = (await queryRunner.query(
      `SELECT count(*)::int AS open FROM "payouts" WHERE "beneficiary_ciphertext" IS NOT NULL AND "status" NOT IN ('completed', 'failed', 'rejected', 'cancelled')`,
    )) as Array<{ open: number }>;
    if (open > 0) {
      throw new Error(
        `Cannot revert SealPayoutBeneficiaries: ${open} payout(s) not final yet hold their beneficiary only sealed. Revert once they are final.`,
      );
    }
    await queryRunner.query(`DROP INDEX "public"."ix_payouts_beneficiary_unsealed"`);
    await queryRunner.query(`DROP INDEX "public"."ix_payouts_beneficiary_fingerprint"`);
    await queryRunner.query(`ALTER TABLE "payouts" DROP COLUMN "beneficiary_fingerprint"`);
    await queryRunner.query(`ALTER TABLE "payouts" DROP COLUMN "beneficiary_ciphertext"`);
    await queryRunner.query(`ALTER TABLE "payouts" DROP COLUMN "beneficiary_wrapped_key"`);
    await queryRunner.query(`ALTER TABLE "payouts" DROP COLUMN "beneficiary_master_key_id"`);
  }
}
