import { loadConfig } from '../../src/config';
import { decodeNotices, encodeNotices } from '../../src/events/event-bus';
import { signWebhookBody, verifyWebhookSignature } from '../../src/webhook/webhook-signature';

describe('change notices', () => {
  it('round-trip in messages that each stay under the NOTIFY payload limit', () => {
    const notices = Array.from({ length: 1000 }, (_, i) => ({
      eventID: String(1e12 + i),
      userID: `user_${'x'.repeat(20)}_${i}`,
    }));
    const messages = encodeNotices(notices);
    expect(messages.length).toBeGreaterThan(1);
    for (const message of messages) expect(Buffer.byteLength(message)).toBeLessThan(8000);
    expect(messages.flatMap(decodeNotices)).toEqual(notices);
  });

  it('decode ignores malformed messages and items', () => {
    expect(decodeNotices('not json')).toEqual([]);
    expect(decodeNotices('{"a":1}')).toEqual([]);
    expect(decodeNotices('[["12","u"],["x","u"],[3,"u"],["4"]]')).toEqual([{ eventID: '12', userID: 'u' }]);
  });
});

describe('webhook signature', () => {
  it('is sha256= and the HMAC of the raw body; any change to body or secret fails verification', () => {
    const body = '{"eventID":"1"}';
    const signature = signWebhookBody('secret-secret-secret', body);
    expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature('secret-secret-secret', body, signature)).toBe(true);
    expect(verifyWebhookSignature('secret-secret-secret', `${body} `, signature)).toBe(false);
    expect(verifyWebhookSignature('other-secret-secret', body, signature)).toBe(false);
    expect(verifyWebhookSignature('secret-secret-secret', body, undefined)).toBe(false);
  });
});

describe('events and webhook configuration', () => {
  it('has defaults: Postgres bus, no webhook', () => {
    const config = loadConfig({});
    expect(config.events).toMatchObject({ redisUrl: undefined, channel: 'profile_events' });
    expect(config.websocket.subscriptionsPerConnection).toBe(20);
    expect(config.webhook).toBeUndefined();
  });

  it('lists every problem at once', () => {
    expect(() =>
      loadConfig({
        REDIS_URL: 'http://nope',
        PROFILE_EVENTS_CHANNEL: 'bad channel',
        PROFILE_WEBHOOK_URL: 'ftp://x',
        SUBSCRIPTIONS_PER_CONNECTION: '0',
      }),
    ).toThrow(
      expect.objectContaining({
        problems: [
          'REDIS_URL must be a redis:// or rediss:// URL',
          'PROFILE_EVENTS_CHANNEL must be 1 to 56 letters, digits, "_", ".", ":" or "-"',
          'PROFILE_WEBHOOK_URL must be an http(s) URL',
          'PROFILE_WEBHOOK_SECRET of at least 16 characters is required with PROFILE_WEBHOOK_URL',
          'SUBSCRIPTIONS_PER_CONNECTION must be an integer from 1 to 1000 (got "0")',
        ],
      }),
    );
    expect(() => loadConfig({ PROFILE_WEBHOOK_SECRET: 'x'.repeat(20) })).toThrow(/PROFILE_WEBHOOK_URL is not/);
  });

  it('reads the webhook settings', () => {
    const config = loadConfig({
      PROFILE_WEBHOOK_URL: 'https://hooks.example/profile',
      PROFILE_WEBHOOK_SECRET: 's'.repeat(16),
      PROFILE_WEBHOOK_RETRY_BASE_MS: '200',
    });
    expect(config.webhook).toMatchObject({
      url: 'https://hooks.example/profile',
      retryBaseMs: 200,
      retryMaxMs: 300000,
    });
  });
});
