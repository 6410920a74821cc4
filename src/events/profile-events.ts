import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Outbox } from './outbox.repository.js';
import { WebhookWorker } from '../webhook/webhook-worker.js';
import type { EventBus } from './event-bus.js';
import { EventRelay } from './event-relay.js';
import { PostgresEventBus } from './postgres-event-bus.js';
import type { ProfileEventHub } from './profile-event-hub.js';
import type { UserStatusHub } from '../presence/user-status-hub.js';
import { ProfileEventRepository } from './profile-event.repository.js';
import { RedisEventBus } from './redis-event-bus.js';

/**
 * Everything behind live profile changes on one instance but the hub: the bus, the relay, the
 * webhook and the outbox the write path fills. The hub (subscriptions) is built after the profile
 * repository and service, which need the outbox first, and is handed to `start`.
 */
export interface ProfileEvents {
  /** This instance's ID: written as `relay_owner`, and part of its connections' names. */
  readonly instanceID: string;
  readonly bus: EventBus;
  readonly relay: EventRelay;
  readonly webhook: WebhookWorker | undefined;
  /** How the profile write path fills the outbox and wakes the relay after a change. */
  readonly outbox: Outbox;
  /** The outbox's rows, as the hub reads them. */
  readonly events: ProfileEventRepository;
  /** Starts the bus (delivering to the hubs), the relay and the webhook. */
  start(hub: ProfileEventHub, statuses: UserStatusHub): Promise<void>;
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
      ? new PostgresEventBus(database.url, config.events.channel, `profile-events:${instanceID}`, logger, database.pool)
      : new RedisEventBus(config.events.redisUrl, config.events.channel, `profile-events:${instanceID}`, logger);
  const relay = new EventRelay(
    bus,
    events,
    {
      owner: instanceID,
      pollMs: config.events.relayPollMs,
      takeoverMs: config.events.relayTakeoverMs,
      retentionHours: config.events.retentionHours,
      pruneMs: config.events.pruneMs,
    },
    logger,
  );
  const webhook = config.webhook && new WebhookWorker(database.pool, config.webhook, logger);
  let started: { hub: ProfileEventHub; statuses: UserStatusHub } | undefined;
  return {
    instanceID,
    bus,
    events,
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
    async start(hub, statuses) {
      started = { hub, statuses };
      await bus.start({
        onNotices: (notices) => hub.onNotices(notices),
        onStatusNotices: (userIDs) => statuses.onStatusNotices(userIDs),
        onConnected: async () => {
          await Promise.all([hub.catchUp(), statuses.catchUp()]);
        },
      });
      relay.start();
      webhook?.start();
    },
    async stop() {
      await Promise.all([started?.hub.close(), started?.statuses.close()]);
      await relay.stop();
      await webhook?.stop();
      await bus.stop();
    },
  };
}
