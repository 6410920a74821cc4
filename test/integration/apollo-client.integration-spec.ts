import { ApolloClient, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { startTestServer, uniqueUserID, type TestServer } from '../support/test-server';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

const ME = gql`
  query Me {
    me {
      userID
      nick
      level
    }
  }
`;
const USERS = gql`
  query Users($ids: [ID!]!) {
    users(ids: $ids) {
      userID
      nick
      level
    }
  }
`;
const UPDATE = gql`
  mutation Update($input: UpdateMyProfileInput!) {
    updateMyProfile(input: $input) {
      userID
      nick
      level
    }
  }
`;

test('an update refreshes the cached profile in both me and users(ids:) without a refetch', async () => {
  const userID = uniqueUserID('ac');
  const token = await server.token(userID);
  let requests = 0;
  const client = new ApolloClient({
    link: new HttpLink({
      uri: server.url,
      headers: { authorization: `Bearer ${token}` },
      fetch: (input, init) => {
        requests += 1;
        return fetch(input, init);
      },
    }),
    cache: new InMemoryCache({ typePolicies: { User: { keyFields: ['userID'] } } }),
  });

  const me = await client.query({ query: ME });
  expect(me.data).toEqual({ me: { __typename: 'User', userID, nick: '', level: 0 } });
  const users = await client.query({ query: USERS, variables: { ids: [userID] } });
  expect(users.data).toEqual({ users: [{ __typename: 'User', userID, nick: '', level: 0 }] });
  expect(requests).toBe(2);

  await client.mutate({ mutation: UPDATE, variables: { input: { nick: 'Cached', level: 9 } } });
  expect(requests).toBe(3);

  expect(client.readQuery({ query: ME })).toEqual({ me: { __typename: 'User', userID, nick: 'Cached', level: 9 } });
  expect(client.readQuery({ query: USERS, variables: { ids: [userID] } })).toEqual({
    users: [{ __typename: 'User', userID, nick: 'Cached', level: 9 }],
  });
  const again = await client.query({ query: ME, fetchPolicy: 'cache-first' });
  expect(again.data).toEqual({ me: { __typename: 'User', userID, nick: 'Cached', level: 9 } });
  expect(requests).toBe(3);
  client.stop();
});
