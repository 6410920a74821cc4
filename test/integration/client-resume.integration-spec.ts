import { WebSocket } from 'ws';
import { createProfileClient, EVENT } from '../../src/client';
import { untilDelivering, waitFor } from '../support/subscription-client';
import { startTestServer, uniqueUserID, type TestServer } from '../support/test-server';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

/** The client's WebSockets, so that the test can cut the connection as a network would. */
const opened: WebSocket[] = [];
class TrackedWebSocket extends WebSocket {
  constructor(...args: ConstructorParameters<typeof WebSocket>) {
    super(...args);
    opened.push(this);
  }
}

test('after a dropped connection the client resumes from its last cursor: a change made meanwhile arrives', async () => {
  const me = uniqueUserID('resume');
  const friend = uniqueUserID('resume');
  const friendClient = createProfileClient({ url: server.url, getToken: () => server.token(friend) });
  const client = createProfileClient({
    url: server.url,
    getToken: () => server.token(me),
    webSocketImpl: TrackedWebSocket,
  });
  const nicks: string[] = [];
  client.on(EVENT.PROFILE_UPDATED, (event) => nicks.push(...event.data.map((profile) => profile.nick)));
  client.watchProfiles([friend]);
  try {
    await untilDelivering(
      'the watch',
      (attempt) => friendClient.updateMyProfile({ nick: `probe ${attempt}` }),
      () => nicks.some((nick) => nick.startsWith('probe')),
    );
    const connections = opened.length;
    opened[opened.length - 1].terminate();
    // The client waits at least a second before reconnecting: this change falls in between.
    await friendClient.updateMyProfile({ nick: 'changed while away' });
    await waitFor('a new connection', () => (opened.length > connections ? true : undefined));
    await waitFor('the change made while away', () => (nicks.includes('changed while away') ? true : undefined));
  } finally {
    await client.close();
    await friendClient.close();
  }
});
