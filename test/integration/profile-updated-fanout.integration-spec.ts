import { defineField, uniqueFieldKey } from '../support/custom-fields';
import { connect, untilDelivering, type LiveSubscription, type WsConnection } from '../support/subscription-client';
import { startTestServer, uniqueUserID, type TestServer } from '../support/test-server';

const WATCH = `subscription ($ids: [ID!]!, $withNick: Boolean = true) {
  profileUpdated(userIDs: $ids) { userID selfSignature nick @include(if: $withNick) profileCustomField { key value } } }`;
const UPDATE = `mutation ($input: UpdateMyProfileInput!) { updateMyProfile(input: $input) { userID } }`;

let server: TestServer;
const sockets: WsConnection[] = [];

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await Promise.all(sockets.map((socket) => socket.dispose()));
  await server.stop();
});

async function watch(viewer: string, variables: Record<string, unknown>): Promise<LiveSubscription> {
  const socket = connect(server.url, await server.token(viewer));
  sockets.push(socket);
  return socket.subscribe(WATCH, variables);
}

describe('one change, many subscribers', () => {
  it('each gets the profile as its audience sees it, with the fields its own variables select', async () => {
    const privateKey = uniqueFieldKey();
    await defineField(server, privateKey, { read: 'PRIVATE' });
    const owner = uniqueUserID('owner');
    // The owner subscribes first: a delivery shared across audiences would show others its PRIVATE field.
    const own = await watch(owner, { ids: [owner] });
    const others = [
      await watch(uniqueUserID('other'), { ids: [owner] }),
      await watch(uniqueUserID('other'), { ids: [owner, uniqueUserID()] }),
    ];
    const withoutNick = await watch(uniqueUserID('other'), { ids: [owner], withNick: false });
    const all = [own, ...others, withoutNick];

    let attempt = 0;
    const ofAttempt = (subscription: LiveSubscription) =>
      subscription.results.find((r) => r.data?.profileUpdated.selfSignature === `s${attempt}`)?.data?.profileUpdated;
    await untilDelivering(
      'every subscriber',
      (n) =>
        server.request(UPDATE, {
          as: owner,
          variables: {
            input: {
              nick: `n${n}`,
              selfSignature: `s${(attempt = n)}`,
              profileCustomField: [{ key: privateKey, value: `secret ${n}` }],
            },
          },
        }),
      () => all.every((subscription) => ofAttempt(subscription) !== undefined),
    );

    const selfSignature = `s${attempt}`;
    expect(ofAttempt(own)).toEqual({
      userID: owner,
      selfSignature,
      nick: `n${attempt}`,
      profileCustomField: [{ key: privateKey, value: `secret ${attempt}` }],
    });
    for (const other of others) {
      expect(ofAttempt(other)).toEqual({ userID: owner, selfSignature, nick: `n${attempt}`, profileCustomField: [] });
    }
    expect(ofAttempt(withoutNick)).toEqual({ userID: owner, selfSignature, profileCustomField: [] });
  });
});
