import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Indexes that keep the outbox's background statements on an index whatever the statistics say
 * (autovacuum may be off): pruning reads the oldest expired events in time order, the webhook the
 * oldest due events in event order.
 */
export class OutboxIndexes1796176237395 implements MigrationInterface {
  name = 'OutboxIndexes1796176237395';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX "profile_event_expiry" ON "profile_event" ("event_time") WHERE "relayed" AND NOT "webhook_pending"`,
    );
    await queryRunner.query(
      `CREATE INDEX "profile_event_webhook_due" ON "profile_event" ("event_id") WHERE "webhook_pending" AND "webhook_dead_at" IS NULL`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."profile_event_webhook_due"`);
    await queryRunner.query(`DROP INDEX "public"."profile_event_expiry"`);
  }
}
