import type { Pool } from 'pg';
import { createSqlRunner, type SqlRunner, type Statement } from '../db/sql-runner.js';
import { notDeletedSince } from '../user/user.repository.js';

/** What the statuses read finds for one ID (see PresenceRepository.statuses). */
export interface StatusRow {
  readonly user_id: string;
  /** There is an account, and it is not deactivated. */
  readonly active: boolean;
  readonly custom_status: string;
  /** When the user's last connection ended, as recorded; null when it never did. */
  readonly last_seen_at: Date | null;
  /** Some session on a live instance (heartbeat within the dead-after bound). */
  readonly online: boolean;
  /** The newest heartbeat of an instance holding a session, live or not; null without sessions. */
  readonly last_beat: Date | null;
}

/** A user whose first connection on this instance opened, with their token's issue time (seconds). */
export interface Arrival {
  readonly userID: string;
  readonly issuedAt: number;
}

const REGISTER: Omit<Statement, 'values'> = {
  name: 'presence_register',
  text: `INSERT INTO presence_instance (instance_id) VALUES ($1)
    ON CONFLICT (instance_id) DO UPDATE SET heartbeat_at = now()`,
};

const BEAT: Omit<Statement, 'values'> = {
  name: 'presence_beat',
  text: 'UPDATE presence_instance SET heartbeat_at = now() WHERE instance_id = $1 RETURNING instance_id',
};

/**
 * The sessions of users whose first connection here opened, in one statement: the instance's row
 * (again, should a sweep have removed it), any account not created yet (a connection is a first use,
 * refused for an ID deleted since the token was issued), then the sessions. Returns the users
 * recorded; one missing had its account deleted.
 */
const ARRIVE: Omit<Statement, 'values'> = {
  name: 'presence_arrive',
  text: `WITH instance AS (
      INSERT INTO presence_instance (instance_id) VALUES ($1)
      ON CONFLICT (instance_id) DO UPDATE SET heartbeat_at = now() RETURNING instance_id),
    arriving AS (SELECT * FROM unnest($2::text[], $3::bigint[]) AS a(user_id, issued_at)),
    created AS (
      INSERT INTO user_profile (user_id)
      SELECT a.user_id FROM arriving a WHERE ${notDeletedSince('a.user_id', 'a.issued_at')}
      ON CONFLICT (user_id) DO NOTHING RETURNING user_id)
    INSERT INTO presence_session (instance_id, user_id)
    SELECT (SELECT instance_id FROM instance), a.user_id FROM arriving a
    WHERE EXISTS (SELECT 1 FROM user_profile p WHERE p.user_id = a.user_id)
       OR a.user_id IN (SELECT user_id FROM created)
    ON CONFLICT DO NOTHING
    RETURNING user_id`,
};

/** The sessions of users whose last connection here closed, and when each was last seen. */
const LEAVE: Omit<Statement, 'values'> = {
  name: 'presence_leave',
  text: `WITH gone AS (
      DELETE FROM presence_session WHERE instance_id = $1 AND user_id = ANY($2::text[]) RETURNING user_id)
    INSERT INTO user_status (user_id, last_seen_at) SELECT user_id, now() FROM gone
    ON CONFLICT (user_id) DO UPDATE SET last_seen_at = EXCLUDED.last_seen_at
    RETURNING user_id`,
};

/**
 * Removes instances whose heartbeat is older than $2 ms ($1: only this one, at its own shutdown;
 * null: any), with their sessions; each user of theirs is recorded as last seen at the instance's
 * last heartbeat (or now, for this instance). Returns those users. An instance sweeping at the
 * same time finds the rows gone.
 */
const SWEEP: Omit<Statement, 'values'> = {
  name: 'presence_sweep',
  text: `WITH dead AS (
      DELETE FROM presence_instance
      WHERE CASE WHEN $1::text IS NULL THEN heartbeat_at < now() - $2::int * interval '1 millisecond'
                 ELSE instance_id = $1::text END
      RETURNING instance_id, CASE WHEN $1::text IS NULL THEN heartbeat_at ELSE now() END AS seen_at),
    gone AS (
      DELETE FROM presence_session s USING dead WHERE s.instance_id = dead.instance_id
      RETURNING s.user_id, dead.seen_at)
    INSERT INTO user_status (user_id, last_seen_at)
    SELECT user_id, max(seen_at) FROM gone GROUP BY user_id
    ON CONFLICT (user_id) DO UPDATE
      SET last_seen_at = GREATEST(user_status.last_seen_at, EXCLUDED.last_seen_at)
    RETURNING user_id`,
};

/**
 * The statuses of these IDs (in no order): the account, its custom status and last sighting, and
 * its sessions: online when one is on an instance whose heartbeat is within $2 ms, so the users of an
 * instance that died read OFFLINE before any sweep removes its rows. Each look-up is a LATERAL with
 * LIMIT, which the planner keeps as a nested loop of index probes: joined plainly, with statistics
 * missing or stale (autovacuum may be off), it may hash the whole of user_profile for 500 IDs.
 */
export const STATUSES: Omit<Statement, 'values'> = {
  name: 'user_status_read',
  text: `SELECT ids.user_id,
      coalesce(account.active, false) AS active,
      coalesce(status.custom_status, '') AS custom_status,
      status.last_seen_at,
      coalesce(sessions.online, false) AS online,
      sessions.last_beat
    FROM unnest($1::text[]) AS ids(user_id)
    LEFT JOIN LATERAL (
      SELECT p.deactivated_at IS NULL AS active FROM user_profile p WHERE p.user_id = ids.user_id LIMIT 1
    ) AS account ON true
    LEFT JOIN LATERAL (
      SELECT s.custom_status, s.last_seen_at FROM user_status s WHERE s.user_id = ids.user_id LIMIT 1
    ) AS status ON true
    LEFT JOIN LATERAL (
      SELECT bool_or(i.heartbeat_at >= now() - $2::int * interval '1 millisecond') AS online,
             max(i.heartbeat_at) AS last_beat
      FROM presence_session ps JOIN presence_instance i ON i.instance_id = ps.instance_id
      WHERE ps.user_id = ids.user_id) AS sessions ON true`,
};

/**
 * Sets a custom status, creating the account on first use as the profile's first read does.
 * `account`: false when the account was deleted since the token was issued; `changed`: the value
 * differs from the one stored.
 */
const SET_CUSTOM_STATUS: Omit<Statement, 'values'> = {
  name: 'user_status_set_custom',
  text: `WITH created AS (
      INSERT INTO user_profile (user_id) SELECT $1::text WHERE ${notDeletedSince('$1::text', '$3::bigint')}
      ON CONFLICT (user_id) DO NOTHING RETURNING user_id),
    account AS (
      SELECT EXISTS (SELECT 1 FROM user_profile WHERE user_id = $1::text)
          OR EXISTS (SELECT 1 FROM created) AS found),
    written AS (
      INSERT INTO user_status (user_id, custom_status) SELECT $1::text, $2::text FROM account WHERE found
      ON CONFLICT (user_id) DO UPDATE SET custom_status = EXCLUDED.custom_status
        WHERE user_status.custom_status <> EXCLUDED.custom_status
      RETURNING user_id)
    SELECT (SELECT found FROM account) AS account, EXISTS (SELECT 1 FROM written) AS changed`,
};

/**
 * Presence rows: instances, their sessions and users' statuses (see presence.entity.ts). Each call
 * is one statement; `statements` counts them, for the heartbeat's cost on /metrics and the bench.
 */
export class PresenceRepository {
  private readonly sql: SqlRunner;
  statements = 0;

  constructor(pool: Pool) {
    this.sql = createSqlRunner(pool);
  }

  async register(instanceID: string): Promise<void> {
    await this.run({ ...REGISTER, values: [instanceID] });
  }

  /** False when the instance's row is gone (a sweep took it for dead): it must register again. */
  async beat(instanceID: string): Promise<boolean> {
    return (await this.run({ ...BEAT, values: [instanceID] })).length > 0;
  }

  async arrive(instanceID: string, arrivals: readonly Arrival[]): Promise<string[]> {
    if (arrivals.length === 0) return [];
    const rows = await this.run<{ user_id: string }>({
      ...ARRIVE,
      values: [instanceID, arrivals.map((a) => a.userID), arrivals.map((a) => Math.floor(a.issuedAt))],
    });
    return rows.map((row) => row.user_id);
  }

  async leave(instanceID: string, userIDs: readonly string[]): Promise<string[]> {
    if (userIDs.length === 0) return [];
    const rows = await this.run<{ user_id: string }>({ ...LEAVE, values: [instanceID, userIDs] });
    return rows.map((row) => row.user_id);
  }

  /** Sweeps the instances dead for longer than `deadAfterMs`; returns the users that lost a session. */
  async sweepDead(deadAfterMs: number): Promise<string[]> {
    const rows = await this.run<{ user_id: string }>({ ...SWEEP, values: [null, Math.round(deadAfterMs)] });
    return rows.map((row) => row.user_id);
  }

  /** This instance's own rows, at its shutdown; returns its users. */
  async retire(instanceID: string): Promise<string[]> {
    const rows = await this.run<{ user_id: string }>({ ...SWEEP, values: [instanceID, 0] });
    return rows.map((row) => row.user_id);
  }

  async statuses(userIDs: readonly string[], deadAfterMs: number): Promise<StatusRow[]> {
    if (userIDs.length === 0) return [];
    return this.run<StatusRow>({ ...STATUSES, values: [userIDs, Math.round(deadAfterMs)] });
  }

  async setCustomStatus(
    userID: string,
    customStatus: string,
    issuedAt: number,
  ): Promise<{ account: boolean; changed: boolean }> {
    const [row] = await this.run<{ account: boolean; changed: boolean }>({
      ...SET_CUSTOM_STATUS,
      values: [userID, customStatus, Math.floor(issuedAt)],
    });
    return row;
  }

  private run<R extends object>(statement: Statement): Promise<R[]> {
    this.statements += 1;
    return this.sql.query<R & Record<string, unknown>>(statement) as Promise<R[]>;
  }
}
