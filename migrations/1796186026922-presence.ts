import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Who is online (see docs/presence.md): instances with their heartbeats, the users holding
 * connections on each, and what a user's status keeps between connections. A user's sessions and
 * status go with their profile row (an erased account), an instance's sessions with its row (a dead
 * instance swept).
 */
export class Presence1796186026922 implements MigrationInterface {
  name = 'Presence1796186026922';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "presence_instance" ("instance_id" text NOT NULL, "heartbeat_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "presence_instance_pkey" PRIMARY KEY ("instance_id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "presence_session" ("instance_id" text NOT NULL, "user_id" text NOT NULL, CONSTRAINT "presence_session_pkey" PRIMARY KEY ("instance_id", "user_id"))`,
    );
    await queryRunner.query(`CREATE INDEX "presence_session_user" ON "presence_session"  ("user_id") `);
    await queryRunner.query(
      `CREATE TABLE "user_status" ("user_id" text NOT NULL, "custom_status" text NOT NULL DEFAULT '', "last_seen_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "user_status_pkey" PRIMARY KEY ("user_id"))`,
    );
    await queryRunner.query(
      `ALTER TABLE "presence_session" ADD CONSTRAINT "presence_session_instance_fkey" FOREIGN KEY ("instance_id") REFERENCES "presence_instance"("instance_id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "presence_session" ADD CONSTRAINT "presence_session_user_fkey" FOREIGN KEY ("user_id") REFERENCES "user_profile"("user_id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "user_status" ADD CONSTRAINT "user_status_user_fkey" FOREIGN KEY ("user_id") REFERENCES "user_profile"("user_id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "user_status" DROP CONSTRAINT "user_status_user_fkey"`);
    await queryRunner.query(`ALTER TABLE "presence_session" DROP CONSTRAINT "presence_session_user_fkey"`);
    await queryRunner.query(`ALTER TABLE "presence_session" DROP CONSTRAINT "presence_session_instance_fkey"`);
    await queryRunner.query(`DROP TABLE "user_status"`);
    await queryRunner.query(`DROP INDEX "public"."presence_session_user"`);
    await queryRunner.query(`DROP TABLE "presence_session"`);
    await queryRunner.query(`DROP TABLE "presence_instance"`);
  }
}
