import * as graphqlJs from 'graphql';
import { buildClientSchema, introspectionFromSchema, parse, specifiedDirectives, type GraphQLSchema } from 'graphql';
import vm from 'node:vm';
import { ConfigError, loadConfig } from '../../src/config';
import { DEMO_USERS, DEMO_VIEWER_ID } from '../../src/graphiql/demo-users';
import { acceptsHtml } from '../../src/graphiql/graphiql.handler';
import { BOOT_SCRIPT, examplePageConfig, renderOffPage, renderPage } from '../../src/graphiql/graphiql.page';
import { buildAppSchema } from '../../src/schema';
import { buildProfilePatch } from '../../src/user/user.rules';
import { validateUserID } from '../../src/shared/input-rules';

type Fetcher = (params: Record<string, unknown>, options?: Record<string, unknown>) => any;

/**
 * Runs the boot script as the page does, with GraphiQL, React and graphql-ws's client stubbed:
 * returns the fetcher it hands to GraphiQL, and what it asked of HTTP and of sockets.
 */
function bootWith(httpAnswer: (params: Record<string, unknown>) => unknown) {
  const httpCalls: Array<Record<string, any>> = [];
  const sockets: Array<{ options: Record<string, any>; subscribed: Array<{ payload: unknown; sink: any }> }> = [];
  let props: Record<string, any> | undefined;
  const config = examplePageConfig('/graphql', { exampleUserIDs: [] });
  const GraphiQL = Object.assign(() => null, {
    GraphQL: graphqlJs,
    createFetcher: () => async (params: Record<string, unknown>, options?: Record<string, unknown>) => {
      httpCalls.push({ ...params, options });
      return httpAnswer(params);
    },
  });
  vm.runInNewContext(BOOT_SCRIPT, {
    URL,
    location: { href: 'http://127.0.0.1:4000/graphql' },
    document: {
      getElementById: (id: string) => ({ textContent: id === 'graphiql-config' ? JSON.stringify(config) : '' }),
    },
    GraphiQL,
    React: { createElement: (_type: unknown, given: Record<string, any>) => (props = given) },
    ReactDOM: { createRoot: () => ({ render: () => undefined }) },
    graphqlWs: {
      createClient: (options: Record<string, any>) => {
        const socket = { options, subscribed: [] as Array<{ payload: unknown; sink: any }> };
        sockets.push(socket);
        return {
          subscribe: (payload: unknown, sink: unknown) => {
            socket.subscribed.push({ payload, sink });
            return () => undefined;
          },
        };
      },
    },
  });
  return { fetcher: props!.fetcher as Fetcher, httpCalls, sockets };
}

const SUBSCRIPTION = 'subscription { profileUpdated(userIDs: ["demo_alice"]) { userID nick } }';

describe('acceptsHtml', () => {
  it.each([
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', true],
    ['application/json, text/html;q=0.5', true],
    ['TEXT/HTML', true],
    ['text/html;q=0', false],
    ['application/json', false],
    ['*/*', false],
    ['', false],
    [undefined, false],
  ])('%s -> %s', (accept, expected) => {
    expect(acceptsHtml(accept)).toBe(expected);
  });
});

describe('renderPage', () => {
  it('keeps the configuration inside its script block whatever it contains', () => {
    const config = {
      ...examplePageConfig('/graphql', { exampleUserIDs: [] }),
      query: '</script><script>alert(1)</script>',
    };
    const html = renderPage(config, { styles: [], scripts: [] });
    expect(html.match(/<\/script>/g)).toHaveLength(1);
    const json = /id="graphiql-config">(.*?)<\/script>/s.exec(html)![1];
    expect(JSON.parse(json)).toEqual(config);
  });

  it('puts a development token in the headers only when given one', () => {
    expect(JSON.parse(examplePageConfig('/graphql', { developmentToken: 'abc', exampleUserIDs: [] }).headers)).toEqual({
      Authorization: 'Bearer abc',
    });
    expect(JSON.parse(examplePageConfig('/graphql', { exampleUserIDs: [] }).headers)).toEqual({
      Authorization: 'Bearer <token>',
    });
  });
});

describe('demo users', () => {
  it('are valid profiles with distinct IDs, the token user among them', () => {
    const ids = DEMO_USERS.map((user) => user.userID);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain(DEMO_VIEWER_ID);
    for (const { userID, ...profile } of DEMO_USERS) {
      expect(validateUserID(userID)).toBeUndefined();
      expect(() => buildProfilePatch(profile, { isAdmin: false, customField: () => undefined })).not.toThrow();
      expect(profile.nick).not.toBe('');
    }
  });
});

describe('GRAPHIQL and INTROSPECTION', () => {
  const production = { NODE_ENV: 'production', DATABASE_URL: 'postgres://db/profiles', JWT_SECRET: 'x'.repeat(32) };

  it('are on outside production and off in production by default', () => {
    expect(loadConfig({})).toMatchObject({ graphiql: true, introspection: true });
    expect(loadConfig({ NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(32) })).toMatchObject({
      graphiql: true,
      introspection: true,
    });
    expect(loadConfig(production)).toMatchObject({ graphiql: false, introspection: false });
  });

  it('can be set either way', () => {
    expect(loadConfig({ ...production, GRAPHIQL: 'true', INTROSPECTION: 'true' })).toMatchObject({
      graphiql: true,
      introspection: true,
    });
    expect(loadConfig({ GRAPHIQL: 'false', INTROSPECTION: '0' })).toMatchObject({
      graphiql: false,
      introspection: false,
    });
  });

  it('reject values that are not booleans, listing both', () => {
    let error: unknown;
    try {
      loadConfig({ GRAPHIQL: 'maybe', INTROSPECTION: 'on' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'GRAPHIQL must be true or false (got "maybe")',
      'INTROSPECTION must be true or false (got "on")',
    ]);
  });
});

describe('the boot script', () => {
  let schema: GraphQLSchema;
  beforeAll(async () => {
    schema = await buildAppSchema();
  });

  it("gives GraphiQL's docs and completion the schema without federation's additions", async () => {
    const introspection = { data: introspectionFromSchema(schema) };
    const { fetcher } = bootWith(() => introspection);
    const result = await fetcher(
      { query: 'query IntrospectionQuery { ... }', operationName: 'IntrospectionQuery' },
      {},
    );
    const shown = buildClientSchema(JSON.parse(JSON.stringify(result.data)));

    const types = Object.keys(shown.getTypeMap());
    expect(types).toEqual(
      expect.arrayContaining(['Query', 'Mutation', 'Subscription', 'User', 'UpdateMyProfileInput']),
    );
    expect(types.filter((name) => name.startsWith('_') && !name.startsWith('__'))).toEqual([]);
    expect(types.filter((name) => name.includes('__') && !name.startsWith('__'))).toEqual([]);
    expect(shown.getDirectives().map((directive) => directive.name)).toEqual(
      specifiedDirectives.map((directive) => directive.name),
    );
    const queryFields = Object.keys(shown.getQueryType()!.getFields());
    expect(queryFields).toEqual(expect.arrayContaining(['me', 'users']));
    expect(queryFields.filter((name) => name.startsWith('_'))).toEqual([]);
    // Everything else is as the server describes it.
    expect(Object.keys(shown.getMutationType()!.getFields())).toEqual(
      Object.keys(schema.getMutationType()!.getFields()),
    );
    expect(shown.getType('User')!.toConfig()).toMatchObject({ description: schema.getType('User')!.description });
  });

  it('leaves an introspection query run from the editor as the server answered it', async () => {
    const introspection = { data: introspectionFromSchema(schema) };
    const { fetcher } = bootWith(() => introspection);
    const query = 'query IntrospectionQuery { __schema { types { name } } }';
    const result = await fetcher({ query, operationName: 'IntrospectionQuery' }, { documentAST: parse(query) });
    expect(result).toBe(introspection);
  });

  it.each([
    ['an anonymous subscription', SUBSCRIPTION, undefined],
    [
      'a named one among other operations',
      'query Me { me { nick } }\nsubscription Live { profileUpdated(userIDs: ["demo_alice"]) { nick } }',
      'Live',
    ],
  ])('sends %s over graphql-ws with the Headers tab Authorization, never over HTTP', (_what, query, operationName) => {
    const { fetcher, httpCalls, sockets } = bootWith(() => ({ data: {} }));
    const params = { query, operationName };
    const stream = fetcher(params, { documentAST: parse(query), headers: { AUTHORIZATION: 'Bearer abc' } });
    expect(httpCalls).toEqual([]);
    expect(sockets).toHaveLength(1);
    expect(sockets[0].options).toMatchObject({
      url: 'ws://127.0.0.1:4000/graphql',
      lazy: true,
      connectionParams: { authorization: 'Bearer abc' },
    });

    const seen: unknown[] = [];
    const subscription = stream.subscribe({
      next: (value: unknown) => seen.push(value),
      error: (error: unknown) => seen.push({ error }),
      complete: () => seen.push('complete'),
    });
    expect(typeof subscription.unsubscribe).toBe('function');
    expect(sockets[0].subscribed.map((entry) => entry.payload)).toEqual([params]);
    const { sink } = sockets[0].subscribed[0];
    sink.next({ data: { profileUpdated: { userID: 'demo_alice', nick: 'x' } } });
    sink.error({ code: 4403, reason: 'Forbidden' });
    expect(seen).toEqual([
      { data: { profileUpdated: { userID: 'demo_alice', nick: 'x' } } },
      { error: { message: 'The WebSocket closed: 4403 Forbidden' } },
    ]);
  });

  it('opens one socket client per distinct Authorization, and only for subscriptions', async () => {
    const { fetcher, httpCalls, sockets } = bootWith(() => ({ data: { me: null } }));
    const documentAST = parse(SUBSCRIPTION);
    fetcher({ query: SUBSCRIPTION }, { documentAST, headers: { Authorization: 'Bearer a' } });
    fetcher({ query: SUBSCRIPTION }, { documentAST, headers: { authorization: 'Bearer a' } });
    fetcher({ query: SUBSCRIPTION }, { documentAST, headers: { Authorization: 'Bearer b' } });
    fetcher({ query: SUBSCRIPTION }, { documentAST });
    expect(sockets.map((socket) => socket.options.connectionParams)).toEqual([
      { authorization: 'Bearer a' },
      { authorization: 'Bearer b' },
      {},
    ]);

    for (const query of ['{ me { nick } }', 'mutation { updateMyProfile(input: { nick: "n" }) { nick } }']) {
      expect(await fetcher({ query }, { documentAST: parse(query), headers: {} })).toEqual({ data: { me: null } });
    }
    expect(httpCalls.map((call) => call.query)).toEqual([
      '{ me { nick } }',
      'mutation { updateMyProfile(input: { nick: "n" }) { nick } }',
    ]);
    expect(sockets).toHaveLength(3);
  });

  it("reads the operation from the query it runs, not from GraphiQL's document of a moment before", async () => {
    const { fetcher, httpCalls, sockets } = bootWith(() => ({ data: {} }));
    const example = 'query Example { me { nick } }';
    // Pasted over the example and run at once: GraphiQL still holds the example's name and document.
    fetcher({ query: SUBSCRIPTION, operationName: 'Example' }, { documentAST: parse(example) });
    expect(httpCalls).toEqual([]);
    expect(sockets[0].options.connectionParams).toEqual({});
    const stream = fetcher(
      { query: SUBSCRIPTION, operationName: 'Example' },
      { documentAST: parse(example), headers: { Authorization: 'Bearer a' } },
    );
    stream.subscribe({ next: () => undefined, error: () => undefined, complete: () => undefined });
    expect(sockets[1].subscribed[0].payload).toEqual({ query: SUBSCRIPTION, operationName: undefined });

    // And the other way round: a query run while GraphiQL still holds the subscription's document.
    await fetcher({ query: example }, { documentAST: parse(SUBSCRIPTION) });
    expect(httpCalls).toHaveLength(1);
    expect(graphqlJs.print(httpCalls[0].options.documentAST)).toBe(graphqlJs.print(parse(example)));
    expect(sockets).toHaveLength(2);
  });
});

describe('renderOffPage', () => {
  it('says GraphiQL is off and how to turn it on or call the API, and runs nothing', () => {
    const html = renderOffPage('/graphql');
    expect(html).toContain('GraphiQL is off on this server');
    expect(html).toContain('GRAPHIQL=true');
    expect(html).toContain('/graphql');
    expect(html).not.toMatch(/<script|<style|<link rel="stylesheet"|<img|<form/);
  });
});
