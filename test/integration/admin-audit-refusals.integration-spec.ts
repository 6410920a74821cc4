import { startTestServer, uniqueUserID, type TestServer } from '../support/test-server';

/**
 * A non-administrator's refused calls stay audited without growing the table per call: repeats of
 * one operation within a minute add to one row's `attempts`.
 */

const USER_PROFILE = `query ($id: ID!) { userProfile(userID: $id) { userID } }`;
const CHECK = `query ($ids: [ID!]!) { checkAccounts(ids: $ids) { exists } }`;

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

interface AuditRow {
  operation: string;
  actor_is_admin: boolean;
  subjects: string[];
  outcome: string;
  error_code: string | null;
  error_reason: string | null;
  attempts: number;
  refused_minute: Date | null;
  occurred_minute: Date;
}

async function auditOf(actorID: string): Promise<AuditRow[]> {
  const { rows } = await server.app.database.pool.query<AuditRow>(
    `SELECT operation, actor_is_admin, subjects, outcome::text AS outcome, error_code, error_reason, attempts,
       refused_minute, date_trunc('minute', occurred_at) AS occurred_minute
     FROM admin_audit WHERE actor_id = $1 ORDER BY id`,
    [actorID],
  );
  return rows;
}

/** Waits for the next minute when the database's clock is near the end of one, so a burst stays in one minute. */
async function awayFromMinuteEnd(): Promise<void> {
  const { rows } = await server.app.database.pool.query<{ second: number }>(
    'SELECT extract(second FROM clock_timestamp())::float8 AS second',
  );
  if (rows[0].second > 50) await new Promise((resolve) => setTimeout(resolve, (61 - rows[0].second) * 1000));
}

describe("a non-administrator's refused calls", () => {
  it('count 200 repeats on one row per operation and minute, keeping the first call', async () => {
    await awayFromMinuteEnd();
    const plain = uniqueUserID('plain');
    const token = await server.token(plain);
    const refused = (id: string) => server.request(USER_PROFILE, { token, variables: { id } });

    const answers = [await refused('first_subject')];
    for (let batch = 0; batch < 9; batch += 1) {
      answers.push(...(await Promise.all(Array.from({ length: 22 }, (_, i) => refused(`later_${batch}_${i}`)))));
    }
    answers.push(await refused('last_subject'));
    expect(answers).toHaveLength(200);
    for (const answer of answers) {
      expect(answer.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'ADMIN_ONLY' });
    }
    const other = await server.request(CHECK, { token, variables: { ids: ['x'] } });
    expect(other.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'ADMIN_ONLY' });

    const audit = await auditOf(plain);
    expect(
      audit.map(({ occurred_minute: _, refused_minute, ...row }) => ({ ...row, refused: refused_minute !== null })),
    ).toEqual([
      {
        operation: 'userProfile',
        actor_is_admin: false,
        subjects: ['first_subject'],
        outcome: 'FORBIDDEN',
        error_code: 'FORBIDDEN',
        error_reason: 'ADMIN_ONLY',
        attempts: 200,
        refused: true,
      },
      {
        operation: 'checkAccounts',
        actor_is_admin: false,
        subjects: ['x'],
        outcome: 'FORBIDDEN',
        error_code: 'FORBIDDEN',
        error_reason: 'ADMIN_ONLY',
        attempts: 1,
        refused: true,
      },
    ]);
    expect(audit[0].refused_minute).toEqual(audit[0].occurred_minute);
  });

  it('count aliased repeats in one request too', async () => {
    await awayFromMinuteEnd();
    const plain = uniqueUserID('plain');
    const reads = Array.from({ length: 15 }, (_, i) => `p${i}: userProfile(userID: "s${i}") { userID }`);
    const response = await server.request(`{ ${reads.join(' ')} }`, { as: plain });
    expect(response.errors).toHaveLength(15);
    const audit = await auditOf(plain);
    expect(audit.map((row) => [row.operation, row.attempts])).toEqual([['userProfile', 15]]);
  });
});

describe("an administrator's calls", () => {
  it('are one row each, succeeded or rejected', async () => {
    const admin = uniqueUserID('admin');
    const user = uniqueUserID('member');
    await server.request('{ me { userID } }', { as: user });
    for (let i = 0; i < 3; i += 1) {
      const read = await server.request(USER_PROFILE, { as: admin, admin: true, variables: { id: user } });
      expect(read.errors).toBeUndefined();
    }
    for (let i = 0; i < 2; i += 1) {
      const rejected = await server.request(USER_PROFILE, { as: admin, admin: true, variables: { id: '' } });
      expect(rejected.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    }
    const audit = await auditOf(admin);
    expect(audit.map((row) => [row.outcome, row.attempts, row.refused_minute])).toEqual([
      ['SUCCEEDED', 1, null],
      ['SUCCEEDED', 1, null],
      ['SUCCEEDED', 1, null],
      ['REJECTED', 1, null],
      ['REJECTED', 1, null],
    ]);
  });
});
