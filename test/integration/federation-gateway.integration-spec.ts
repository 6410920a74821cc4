import { ApolloGateway, IntrospectAndCompose, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { startTestServer, uniqueUserID, type GraphQLResponse, type TestServer } from '../support/test-server';

/**
 * A real gateway composes the profile service with a second subgraph written here: messages whose
 * author is a profile `User`, and a `User.messages` field the messages subgraph adds to the entity.
 * Queries cross the boundary both ways; the client's token travels through the gateway.
 */

interface Message {
  id: string;
  text: string;
  authorID: string;
}

const messagesTypeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])

  type Query {
    "Every message, oldest first."
    messages: [Message!]!
  }

  "A chat message."
  type Message {
    id: ID!
    text: String!
    "The profile of the sender, resolved by the profile subgraph."
    author: User
  }

  type User @key(fields: "userID") {
    userID: ID!
    "Messages this user sent."
    messages: [Message!]!
  }
`);

interface GatewayContext {
  authorization?: string;
}

class AuthorizationForwardingDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  override willSendRequest({
    request,
    context,
  }: Parameters<NonNullable<RemoteGraphQLDataSource<GatewayContext>['willSendRequest']>>[0]): void {
    if (context.authorization !== undefined) request.http?.headers.set('authorization', context.authorization);
  }
}

let profiles: TestServer;
let messagesServer: ApolloServer;
let gatewayServer: ApolloServer<GatewayContext>;
let gatewayUrl: string;
/** Authorization headers the messages subgraph saw, to show what the gateway forwards. */
const messagesSaw: Array<string | undefined> = [];

const alice = uniqueUserID('alice');
const bob = uniqueUserID('bob');
const ghost = uniqueUserID('ghost');
const messages: Message[] = [
  { id: 'm1', text: 'hello from alice', authorID: alice },
  { id: 'm2', text: 'hi alice, bob here', authorID: bob },
  { id: 'm3', text: 'alice again', authorID: alice },
  { id: 'm4', text: 'sent by an account that no longer exists', authorID: ghost },
];

beforeAll(async () => {
  profiles = await startTestServer();
  for (const [userID, nick] of [
    [alice, 'Alice'],
    [bob, 'Bob'],
  ]) {
    const created = await profiles.request(`mutation { updateMyProfile(input: { nick: "${nick}" }) { userID } }`, {
      as: userID,
    });
    expect(created.errors).toBeUndefined();
  }

  messagesServer = new ApolloServer({
    schema: buildSubgraphSchema({
      typeDefs: messagesTypeDefs,
      resolvers: {
        Query: { messages: () => messages },
        Message: { author: (message: Message) => ({ __typename: 'User', userID: message.authorID }) },
        User: {
          __resolveReference: (reference: { userID: string }) => reference,
          messages: (user: { userID: string }) => messages.filter((message) => message.authorID === user.userID),
        },
      } as never,
    }),
    plugins: [ApolloServerPluginInlineTraceDisabled()],
  });
  const messagesStarted = await startStandaloneServer(messagesServer, {
    listen: { port: 0, host: '127.0.0.1' },
    context: async ({ req }) => {
      messagesSaw.push(req.headers.authorization);
      return {};
    },
  });

  const gateway = new ApolloGateway({
    supergraphSdl: new IntrospectAndCompose({
      subgraphs: [
        { name: 'profiles', url: profiles.url },
        { name: 'messages', url: messagesStarted.url },
      ],
    }),
    buildService: ({ url }) => new AuthorizationForwardingDataSource({ url }),
  });
  // @apollo/gateway 2.14 implements the gateway interface v1; Apollo Server 5 runs it unchanged.
  gatewayServer = new ApolloServer<GatewayContext>({ gateway: gateway as never });
  const gatewayStarted = await startStandaloneServer(gatewayServer, {
    listen: { port: 0, host: '127.0.0.1' },
    context: async ({ req }) => ({ authorization: req.headers.authorization }),
  });
  gatewayUrl = gatewayStarted.url;
});

afterAll(async () => {
  await gatewayServer?.stop();
  await messagesServer?.stop();
  await profiles?.stop();
});

async function viaGateway(query: string, token?: string): Promise<GraphQLResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const response = await fetch(gatewayUrl, { method: 'POST', headers, body: JSON.stringify({ query }) });
  return { ...((await response.json()) as GraphQLResponse), status: response.status };
}

describe('a gateway composing the profile subgraph with a messages subgraph', () => {
  it('resolves message authors from the profile subgraph with the forwarded token', async () => {
    const result = await viaGateway('{ messages { id text author { userID nick } } }', await profiles.token(bob));
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({
      messages: [
        { id: 'm1', text: 'hello from alice', author: { userID: alice, nick: 'Alice' } },
        { id: 'm2', text: 'hi alice, bob here', author: { userID: bob, nick: 'Bob' } },
        { id: 'm3', text: 'alice again', author: { userID: alice, nick: 'Alice' } },
        { id: 'm4', text: 'sent by an account that no longer exists', author: null },
      ],
    });
  });

  it('adds messages to profiles read through me and users(ids:)', async () => {
    const token = await profiles.token(alice);
    const result = await viaGateway(
      `{
        me { userID nick messages { id } }
        users(ids: ["${bob}", "${ghost}", "${alice}"]) { userID nick messages { id text } }
      }`,
      token,
    );
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({
      me: { userID: alice, nick: 'Alice', messages: [{ id: 'm1' }, { id: 'm3' }] },
      users: [
        { userID: bob, nick: 'Bob', messages: [{ id: 'm2', text: 'hi alice, bob here' }] },
        {
          userID: alice,
          nick: 'Alice',
          messages: [
            { id: 'm1', text: 'hello from alice' },
            { id: 'm3', text: 'alice again' },
          ],
        },
      ],
    });
    expect(messagesSaw.at(-1)).toBe(`Bearer ${token}`);
  });

  it('answers entity resolution without a token with UNAUTHENTICATED', async () => {
    const result = await viaGateway('{ messages { id author { nick } } }');
    expect(result.status).toBe(200);
    expect(result.data?.messages.map((message: { author: unknown }) => message.author)).toEqual([
      null,
      null,
      null,
      null,
    ]);
    expect(result.errors?.length).toBeGreaterThan(0);
    for (const error of result.errors!) expect(error.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('answers me without a token with UNAUTHENTICATED from the profile subgraph', async () => {
    const result = await viaGateway('{ me { userID } }');
    expect(result.data).toBeNull();
    expect(result.errors?.map((error) => error.extensions?.code)).toEqual(['UNAUTHENTICATED']);
  });
});
