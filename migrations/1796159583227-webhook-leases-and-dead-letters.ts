import type { MigrationInterface, QueryRunner } from 'typeorm';

export class WebhookLeasesAndDeadLetters1796159583227 implements MigrationInterface {
  name = 'WebhookLeasesAndDeadLetters1796159583227';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."profile_event_webhook_pending"`);
    await queryRunner.query(`ALTER TABLE "profile_event" ADD "webhook_lease" uuid`);
    await queryRunner.query(`ALTER TABLE "profile_event" ADD "webhook_dead_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(
      `CREATE INDEX "profile_event_webhook_dead" ON "profile_event" ("event_id") WHERE "webhook_dead_at" IS NOT NULL`,
    );
    await queryRunner.query(
      `CREATE INDEX "profile_event_webhook_queue" ON "profile_event" ("user_id", "event_id") WHERE "webhook_pending" AND "webhook_dead_at" IS NULL`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."profile_event_webhook_queue"`);
    await queryRunner.query(`DROP INDEX "public"."profile_event_webhook_dead"`);
    await queryRunner.query(`ALTER TABLE "profile_event" DROP COLUMN "webhook_dead_at"`);
    await queryRunner.query(`ALTER TABLE "profile_event" DROP COLUMN "webhook_lease"`);
    await queryRunner.query(
      `CREATE INDEX "profile_event_webhook_pending" ON "profile_event" ("user_id", "event_id") WHERE "webhook_pending"`,
    );
  }
}
