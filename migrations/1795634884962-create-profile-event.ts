import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateProfileEvent1795634884962 implements MigrationInterface {
  name = 'CreateProfileEvent1795634884962';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "profile_event" (
        "event_id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "user_id" text NOT NULL,
        "operator" text NOT NULL,
        "event_time" TIMESTAMP WITH TIME ZONE NOT NULL,
        "changed_fields" jsonb NOT NULL,
        "changed_custom_fields" jsonb NOT NULL,
        "relay_owner" text NOT NULL,
        "relayed" boolean NOT NULL DEFAULT false,
        "webhook_pending" boolean NOT NULL DEFAULT false,
        "webhook_attempts" integer NOT NULL DEFAULT '0',
        "webhook_next_attempt_at" TIMESTAMP WITH TIME ZONE,
        "webhook_last_error" text,
        "webhook_delivered_at" TIMESTAMP WITH TIME ZONE,
        CONSTRAINT "profile_event_pkey" PRIMARY KEY ("event_id")
      )`);
    await queryRunner.query(
      `CREATE INDEX "profile_event_webhook_pending" ON "profile_event" ("user_id", "event_id") WHERE "webhook_pending"`,
    );
    await queryRunner.query(
      `CREATE INDEX "profile_event_unrelayed" ON "profile_event" ("event_id") WHERE NOT "relayed"`,
    );
    await queryRunner.query(`CREATE INDEX "profile_event_user_event" ON "profile_event" ("user_id", "event_id")`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."profile_event_user_event"`);
    await queryRunner.query(`DROP INDEX "public"."profile_event_unrelayed"`);
    await queryRunner.query(`DROP INDEX "public"."profile_event_webhook_pending"`);
    await queryRunner.query(`DROP TABLE "profile_event"`);
  }
}
