import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateRateLimitCounter1795634874233 implements MigrationInterface {
  name = 'CreateRateLimitCounter1795634874233';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "rate_limit_counter" (
        "key" text NOT NULL,
        "window_start" TIMESTAMP WITH TIME ZONE NOT NULL,
        "hits" integer NOT NULL,
        CONSTRAINT "rate_limit_counter_pkey" PRIMARY KEY ("key")
      )`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "rate_limit_counter"`);
  }
}
