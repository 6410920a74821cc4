import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';
import { decodeNotices, type ChangeNotice } from '../../src/events/event-bus';
import { ProfileEventRepository } from '../../src/events/profile-event.repository';
import { waitFor } from '../support/subscription-client';
import { uniqueUserID } from '../support/test-server';

let pool: Pool;
let listener: Client;
beforeAll(async () => {
  pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
  listener = new Client({ connectionString: process.env.DATABASE_URL });
  await listener.connect();
});
afterAll(async () => {
  await listener.end();
  await pool.end();
});

test('claimAndNotify marks a batch relayed and sends all of it, in messages far below the NOTIFY limit', async () => {
  const owner = `test-${randomBytes(6).toString('hex')}`;
  const channel = `profile_events_test_${randomBytes(6).toString('hex')}`;
  // IDs of the longest allowed size, with characters JSON must escape, make the largest payloads.
  const users = Array.from({ length: 120 }, (_, i) =>
    `${uniqueUserID('n')}"\\${String(i).padStart(4, '0')}`.slice(-32),
  );
  const messages: string[] = [];
  listener.on('notification', (message) => {
    if (message.channel === channel && message.payload) messages.push(message.payload);
  });
  await listener.query(`LISTEN "${channel}"`);
  await pool.query(
    `INSERT INTO profile_event (user_id, operator, event_time, changed_fields, changed_custom_fields, relay_owner)
     SELECT id, id, now(), '{}', '{}', $2 FROM unnest($1::text[]) AS id`,
    [users, owner],
  );

  // Only this owner's events are young enough to be claimed here (the takeover wait is a day).
  const claimed = await new ProfileEventRepository(pool).claimAndNotify(owner, 86_400_000, 500, channel);
  expect(claimed).toBeGreaterThanOrEqual(users.length);

  const mine = (): ChangeNotice[] =>
    messages.flatMap((message) => decodeNotices(message)).filter((notice) => users.includes(notice.userID));
  await waitFor('all notices', () => (mine().length === users.length ? true : undefined));
  expect(new Set(mine().map((notice) => notice.userID))).toEqual(new Set(users));
  expect(messages.length).toBeGreaterThanOrEqual(3);
  for (const message of messages) expect(Buffer.byteLength(message)).toBeLessThan(8000);

  const { rows } = await pool.query(
    'SELECT count(*)::int AS n FROM profile_event WHERE user_id = ANY($1) AND NOT relayed',
    [users],
  );
  expect(rows[0].n).toBe(0);
  // A second pass sends none of them again.
  await new ProfileEventRepository(pool).claimAndNotify(owner, 86_400_000, 500, channel);
  await pool.query(`NOTIFY "${channel}", '[]'`); // a marker: everything before it has arrived once it has
  await waitFor('the marker', () => (messages.includes('[]') ? true : undefined));
  expect(mine()).toHaveLength(users.length);
});
