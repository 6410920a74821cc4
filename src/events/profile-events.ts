import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { OutboxOptions, UserProfileRepository } from '../user/user.repository.js';
import type { UserProfileService } from '../user/user.service.js';
import { WebhookWorker } from '../webhook/webhook-worker.js';
import type { EventBus } from './event-bus.js';
import { EventRelay } from './event-relay.js';
import { PostgresEventBus } from './postgres-event-bus.js';
import { ProfileEventHub } from './profile-event-hub.js';
import { ProfileEventRepository } from './profile-event.repository.js';
import { RedisEventBus } from './redis-event-bus.js';

/** Everything behind live profile changes on one instance: bus, relay, subscriptions, webhook. */
export interface ProfileEvents {
  /** This instance's ID: written as `relay_owner`, and part of its connections' names. */
  readonly instanceID: string;
  readonly bus: EventBus;
  readonly hub: ProfileEventHub;
  readonly relay: EventRelay;
  readonly webhook: WebhookWorker | undefined;
  /** How the profile write path fills the outbox and wakes the relay after a change. */
  readonly outbox: OutboxOptions;
  /** Gives the hub what it loads and presents profiles with (they need `outbox` first). */
  attach(profiles: UserProfileRepository, profileService: UserProfileService): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createProfileEvents(
  config: Config,
  database: { readonly pool: Pool; readonly url: string },
  logger: Logger,
): ProfileEvents {
  const instanceID = randomBytes(8).toString('hex');
  const events = new ProfileEventRepository(database.pool);
  const bus: EventBus =
    config.events.redisUrl === undefined
      ? new PostgresEventBus(database.url, config.events.channel, `profile-events:${instanceID}`, logger)
      : new RedisEventBus(config.events.redisUrl, config.events.channel, `profile-events:${instanceID}`, logger);
  const relay = new EventRelay(
    database.pool,
    bus,
    events,
    {
      owner: instanceID,
      pollMs: config.events.relayPollMs,
      takeoverMs: config.events.relayTakeoverMs,
      retentionHours: config.events.retentionHours,
    },
    logger,
  );
  const webhook = config.webhook && new WebhookWorker(database.pool, config.webhook, logger);
  let hub: ProfileEventHub | undefined;
  return {
    instanceID,
    bus,
    get hub(): ProfileEventHub {
      if (!hub) throw new Error('profile events are not attached to the profile repository');
      return hub;
    },
    relay,
    webhook,
    outbox: {
      relayOwner: instanceID,
      webhookPending: webhook !== undefined,
      afterChange() {
        relay.wake();
        webhook?.wake();
      },
    },
    attach(profiles, profileService) {
      hub = new ProfileEventHub(profiles, events, profileService, logger);
    },
    async start() {
      const started = this.hub;
      await bus.start({
        onNotices: (notices) => started.onNotices(notices),
        onConnected: () => started.catchUp(),
      });
      relay.start();
      webhook?.start();
    },
    async stop() {
      await hub?.close();
      await relay.stop();
      await webhook?.stop();
      await bus.stop();
    },
  };
}
