import { ConfigError, loadConfig } from '../../src/config';
import { DEMO_USERS, DEMO_VIEWER_ID } from '../../src/graphiql/demo-users';
import { acceptsHtml } from '../../src/graphiql/graphiql.handler';
import { examplePageConfig, renderPage } from '../../src/graphiql/graphiql.page';
import { buildProfilePatch, validateUserID } from '../../src/user/user.rules';

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
