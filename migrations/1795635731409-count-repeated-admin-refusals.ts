import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CountRepeatedAdminRefusals1795635731409 implements MigrationInterface {
  name = 'CountRepeatedAdminRefusals1795635731409';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "admin_audit" ADD "attempts" integer NOT NULL DEFAULT '1'`);
    await queryRunner.query(`ALTER TABLE "admin_audit" ADD "refused_minute" TIMESTAMP WITH TIME ZONE`);
    // A non-administrator's repeats of a refused operation within a minute count on one row.
    await queryRunner.query(`
      CREATE UNIQUE INDEX "admin_audit_refusal_key" ON "admin_audit" ("actor_id", "operation", "refused_minute")
      WHERE "refused_minute" IS NOT NULL`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."admin_audit_refusal_key"`);
    await queryRunner.query(`ALTER TABLE "admin_audit" DROP COLUMN "refused_minute"`);
    await queryRunner.query(`ALTER TABLE "admin_audit" DROP COLUMN "attempts"`);
  }
}
