import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Account lifecycle: deactivation (a timestamp on the profile), deletion (a tombstone holding a
 * digest of the ID, so tokens issued before it stay refused) and the outbox's event type. Any
 * change to either tells every instance to re-read its account states (see AccountStateRegistry).
 */
export class AccountLifecycle1796174052038 implements MigrationInterface {
  name = 'AccountLifecycle1796174052038';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "account_tombstone" ("user_id_digest" bytea NOT NULL, "deleted_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "account_tombstone_pkey" PRIMARY KEY ("user_id_digest"))`,
    );
    await queryRunner.query(
      `CREATE TYPE "public"."profile_event_type" AS ENUM('PROFILE_UPDATED', 'ACCOUNT_DELETED', 'ACCOUNT_DEACTIVATED', 'ACCOUNT_REACTIVATED')`,
    );
    await queryRunner.query(
      `ALTER TABLE "profile_event" ADD "event_type" "public"."profile_event_type" NOT NULL DEFAULT 'PROFILE_UPDATED'`,
    );
    await queryRunner.query(`ALTER TABLE "user_profile" ADD "deactivated_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(
      `CREATE INDEX "user_profile_deactivated" ON "user_profile" ("user_id") WHERE "deactivated_at" IS NOT NULL`,
    );
    // Identical notifications of one transaction are delivered once, so a bulk change sends one.
    await queryRunner.query(`
      CREATE FUNCTION "account_state_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('account_state_changed', '');
        RETURN NULL;
      END
      $$`);
    // Profile updates never name deactivated_at, so they do not even evaluate this trigger.
    await queryRunner.query(`
      CREATE TRIGGER "account_deactivation_changed"
      AFTER UPDATE OF "deactivated_at" ON "user_profile"
      FOR EACH ROW WHEN (OLD."deactivated_at" IS DISTINCT FROM NEW."deactivated_at")
      EXECUTE FUNCTION "account_state_notify"()`);
    await queryRunner.query(`
      CREATE TRIGGER "account_tombstone_changed"
      AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "account_tombstone"
      FOR EACH STATEMENT EXECUTE FUNCTION "account_state_notify"()`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER "account_tombstone_changed" ON "account_tombstone"`);
    await queryRunner.query(`DROP TRIGGER "account_deactivation_changed" ON "user_profile"`);
    await queryRunner.query(`DROP FUNCTION "account_state_notify"()`);
    await queryRunner.query(`DROP INDEX "public"."user_profile_deactivated"`);
    await queryRunner.query(`ALTER TABLE "user_profile" DROP COLUMN "deactivated_at"`);
    await queryRunner.query(`ALTER TABLE "profile_event" DROP COLUMN "event_type"`);
    await queryRunner.query(`DROP TYPE "public"."profile_event_type"`);
    await queryRunner.query(`DROP TABLE "account_tombstone"`);
  }
}
