import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The indexes behind searchUsers (see docs/search.md), both expression indexes over `nick`, so
 * Postgres keeps them current on every write that touches a nickname, whatever sends it: an
 * update, an administrator's write, an import's INSERT ... SELECT. Building them indexes the
 * profiles already stored.
 *
 * - `user_search_text`: the form nicknames and keywords are compared in: NFKC (full-width and
 *   half-width forms fold), then lower case by ICU's root locale (every script, whatever the
 *   database's own locale; the embedded one is C), with the final sigma folded to σ.
 * - `user_profile_search_codes` (GIN over `user_search_codes(nick)`): bigints for the normalized
 *   nickname's first character and first two characters (with bit 42, "at the start"), then one per
 *   later character: the pair (previous << 21 | character) where both are ASCII, else the code point
 *   alone. pg_trgm indexes neither one- nor two-character keywords, and outside a Unicode locale
 *   treats CJK characters as separators; these codes serve any script and any keyword length, with
 *   one code per character. `user_search_probe` and `user_search_probe_any` give the codes a
 *   keyword's nickname must hold: where it starts with the keyword, or contains it later.
 * - `user_profile_search_walk` (B-tree on user ID and normalized nickname, the nickname included so
 *   the planner allows an index-only scan): the walk along user IDs in order that pages through a
 *   common keyword reads this index only, not the rows.
 */
export class UserSearch1796185000000 implements MigrationInterface {
  name = 'UserSearch1796185000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE FUNCTION "user_search_text"(value text) RETURNS text
      LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
      RETURN translate(lower(normalize(value, NFKC) COLLATE "und-x-icu"), 'ς', 'σ')`);
    // A nickname's codes: its first character and first two characters (bit 42 set), then one code
    // per later character: the pair (previous << 21 | character) when both are ASCII (Latin text is
    // told apart by its pairs), else the character alone (a CJK character is selective by itself).
    await queryRunner.query(`
      CREATE FUNCTION "user_search_codes"(nick text) RETURNS bigint[]
      LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT AS $$
      DECLARE
        chars text[] := string_to_array(user_search_text(nick), NULL);
        n int := cardinality(chars);
        at_start constant bigint := 1::bigint << 42;
        previous bigint;
        current bigint;
        codes bigint[];
      BEGIN
        IF n = 0 THEN RETURN '{}'; END IF;
        previous := ascii(chars[1]);
        IF n = 1 THEN RETURN ARRAY[at_start | previous]; END IF;
        codes := ARRAY[at_start | previous, at_start | (previous << 21) | ascii(chars[2])];
        FOR i IN 2 .. n LOOP
          current := ascii(chars[i]);
          codes := codes || CASE WHEN previous < 128 AND current < 128 THEN (previous << 21) | current ELSE current END;
          previous := current;
        END LOOP;
        RETURN codes;
      END
      $$`);
    // The codes every nickname holds that starts with the keyword (at_start), or contains it after
    // its first character: there, a first character that is ASCII has a code that depends on the
    // character before it, so it is left out, unless it is the whole keyword (then see
    // user_search_probe_any). Never empty: a code no nickname holds (-1) stands for "none".
    await queryRunner.query(`
      CREATE FUNCTION "user_search_probe"(keyword text, at_start boolean) RETURNS bigint[]
      LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT AS $$
      DECLARE
        chars text[] := string_to_array(user_search_text(keyword), NULL);
        n int := cardinality(chars);
        start_bit constant bigint := 1::bigint << 42;
        previous bigint;
        current bigint;
        codes bigint[] := '{}';
        first_later int := 2;
      BEGIN
        IF n = 0 THEN RETURN ARRAY[-1::bigint]; END IF;
        previous := ascii(chars[1]);
        IF at_start THEN
          IF n = 1 THEN RETURN ARRAY[start_bit | previous]; END IF;
          codes := ARRAY[start_bit | (previous << 21) | ascii(chars[2])];
          first_later := 3;
          previous := ascii(chars[2]);
        ELSIF previous >= 128 THEN
          codes := ARRAY[previous];
        ELSIF n = 1 THEN
          RETURN ARRAY[-1::bigint];
        END IF;
        FOR i IN first_later .. n LOOP
          current := ascii(chars[i]);
          codes := codes || CASE WHEN previous < 128 AND current < 128 THEN (previous << 21) | current ELSE current END;
          previous := current;
        END LOOP;
        RETURN codes;
      END
      $$`);
    // A single ASCII character after the start: a nickname holding it has one of these codes (any).
    await queryRunner.query(`
      CREATE FUNCTION "user_search_probe_any"(keyword text) RETURNS bigint[]
      LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
      RETURN CASE WHEN length(user_search_text(keyword)) = 1 AND ascii(user_search_text(keyword)) < 128
        THEN ARRAY(SELECT (p::bigint << 21) | ascii(user_search_text(keyword)) FROM generate_series(1, 127) AS p)
          || ascii(user_search_text(keyword))::bigint
        ELSE '{}'::bigint[] END`);
    // Both builds sort every stored profile once; more memory than the default makes them faster.
    await queryRunner.query(`SET LOCAL maintenance_work_mem = '256MB'`);
    await queryRunner.query(
      `CREATE INDEX "user_profile_search_codes" ON "user_profile" USING gin ("user_search_codes"("nick"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "user_profile_search_walk" ON "user_profile" ("user_id", "user_search_text"("nick")) INCLUDE ("nick")`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."user_profile_search_walk"`);
    await queryRunner.query(`DROP INDEX "public"."user_profile_search_codes"`);
    await queryRunner.query(`DROP FUNCTION "user_search_probe_any"(text)`);
    await queryRunner.query(`DROP FUNCTION "user_search_probe"(text, boolean)`);
    await queryRunner.query(`DROP FUNCTION "user_search_codes"(text)`);
    await queryRunner.query(`DROP FUNCTION "user_search_text"(text)`);
  }
}
