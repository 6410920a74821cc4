import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateUserProfile1795633623376 implements MigrationInterface {
  name = 'CreateUserProfile1795633623376';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TYPE "public"."profile_gender" AS ENUM('UNKNOWN', 'FEMALE', 'MALE')`);
    await queryRunner.query(
      `CREATE TYPE "public"."profile_allow_type" AS ENUM('ALLOW_ANY', 'NEED_CONFIRM', 'DENY_ANY')`,
    );
    await queryRunner.query(`CREATE TYPE "public"."profile_forbid_type" AS ENUM('NONE', 'SEND_OUT')`);
    await queryRunner.query(`
      CREATE TABLE "user_profile" (
        "user_id" text NOT NULL,
        "nick" text NOT NULL DEFAULT '',
        "avatar" text NOT NULL DEFAULT '',
        "gender" "public"."profile_gender" NOT NULL DEFAULT 'UNKNOWN',
        "self_signature" text NOT NULL DEFAULT '',
        "allow_type" "public"."profile_allow_type" NOT NULL DEFAULT 'NEED_CONFIRM',
        "birthday" bigint NOT NULL DEFAULT '0',
        "location" text NOT NULL DEFAULT '',
        "language" bigint NOT NULL DEFAULT '0',
        "message_settings" smallint NOT NULL DEFAULT '0',
        "admin_forbid_type" "public"."profile_forbid_type" NOT NULL DEFAULT 'NONE',
        "level" bigint NOT NULL DEFAULT '0',
        "role" bigint NOT NULL DEFAULT '0',
        "custom_fields" jsonb NOT NULL DEFAULT '{}',
        "last_updated_time" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "user_profile_location_length" CHECK (octet_length("location") <= 16),
        CONSTRAINT "user_profile_message_settings" CHECK ("message_settings" IN (0, 1)),
        CONSTRAINT "user_profile_uint32" CHECK ("birthday" BETWEEN 0 AND 4294967295 AND "language" BETWEEN 0 AND 4294967295 AND "level" BETWEEN 0 AND 4294967295 AND "role" BETWEEN 0 AND 4294967295),
        CONSTRAINT "user_profile_user_id_length" CHECK (octet_length("user_id") BETWEEN 1 AND 32),
        CONSTRAINT "user_profile_pkey" PRIMARY KEY ("user_id")
      )`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "user_profile"`);
    await queryRunner.query(`DROP TYPE "public"."profile_forbid_type"`);
    await queryRunner.query(`DROP TYPE "public"."profile_allow_type"`);
    await queryRunner.query(`DROP TYPE "public"."profile_gender"`);
  }
}
