import { ERROR_CODE, TYPES } from '../../src/client';
import { countingClient, rejection } from '../support/profile-client';
import { startTestServer, uniqueUserID, type TestServer } from '../support/test-server';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

test('exportMyData resolves { code: 0, data } with the familiar constants and times in milliseconds', async () => {
  const userID = uniqueUserID('c');
  const { client } = countingClient(server, userID);
  await client.updateMyProfile({ nick: 'Ann', gender: TYPES.GENDER_FEMALE });
  const before = Date.now();
  const result = await client.exportMyData();
  expect(result.code).toBe(0);
  expect(result.data.exportedAt).toBeGreaterThanOrEqual(before - 1000);
  expect(result.data.profile).toMatchObject({ userID, nick: 'Ann', gender: TYPES.GENDER_FEMALE });
  expect(result.data.storedCustomFields).toEqual([]);
  expect(result.data.history).toEqual([
    {
      eventID: expect.any(String),
      eventType: 'PROFILE_UPDATED',
      eventTime: expect.any(Number),
      operator: userID,
      changes: [
        { field: 'nick', value: 'Ann' },
        { field: 'gender', value: 'FEMALE' },
      ],
    },
  ]);
});

test('deleteMyAccount resolves { code: 0, data: { deleted } }; later calls reject at once, without retrying', async () => {
  const userID = uniqueUserID('c');
  const { client, requests } = countingClient(server, userID);
  await client.updateMyProfile({ nick: 'Gone soon' });
  expect(await client.deleteMyAccount()).toEqual({ code: 0, data: { deleted: true } });

  const sent = requests();
  const error = await rejection(client.getMyProfile());
  expect(error.code).toBe(ERROR_CODE.ACCOUNT_NOT_FOUND);
  expect(error.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'ACCOUNT_DELETED' });
  expect(requests() - sent).toBe(1);
});

test('a deactivated account rejects with ACCOUNT_DEACTIVATED', async () => {
  const userID = uniqueUserID('c');
  const { client } = countingClient(server, userID);
  await client.updateMyProfile({ nick: 'Paused' });
  const deactivated = await server.request(
    `mutation ($ids: [ID!]!) { deactivateAccounts(ids: $ids) { deactivated } }`,
    {
      as: 'client_admin',
      admin: true,
      variables: { ids: [userID] },
    },
  );
  expect(deactivated.data!.deactivateAccounts).toEqual([{ deactivated: true }]);
  const error = await rejection(client.getMyProfile());
  expect(error.code).toBe(ERROR_CODE.ACCOUNT_DEACTIVATED);
  expect(error.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'ACCOUNT_DEACTIVATED' });
});
