import { createHash } from 'node:crypto';
import type { GraphQLError } from 'graphql';
import type { ClientConfig } from 'pg';
import type { Logger } from 'pino';
import type { Viewer } from '../auth/viewer.js';
import { ListenClient } from '../db/listen-client.js';
import { accountDeactivated, accountDeleted } from '../user/user.service.js';
import { ACCOUNT_STATE_CHANNEL, type AccountStateRepository } from './account.repository.js';

/** SHA-256 of a user ID's UTF-8 bytes, in hex: how a tombstone names a deleted account. */
export const digestOf = (userID: string): string => createHash('sha256').update(userID, 'utf8').digest('hex');

export interface AccountStateStartOptions {
  /** Period of the unconditional re-read: the bound on staleness when a notification is lost. */
  readonly refreshMs: number;
  /** Where to open the dedicated LISTEN connection. */
  readonly listenConnection: ClientConfig;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
}

/**
 * Which callers are refused for their account's state, as each instance sees it: an in-memory copy
 * of the deactivated accounts and of the tombstones of deleted ones, so that every request asks it
 * synchronously and none queries for it (both sets are small next to the accounts in use). Kept
 * current like the custom field registry: re-read on the tables' NOTIFY (any instance), after each
 * (re)connection of its listener, after this instance changes them, and every `refreshMs`.
 *
 * Statements that could let a stale copy do harm check the tables themselves: an account is never
 * created for a token older than its deletion (see UserProfileRepository.createIfMissing).
 */
export class AccountStateRegistry {
  private deactivated: ReadonlySet<string> = new Set();
  /** Per digest of a deleted ID: the second of its deletion; tokens issued then or before are refused. */
  private deletedAt: ReadonlyMap<string, number> = new Map();
  private readonly changeListeners = new Set<() => void>();
  private running: Promise<void> | undefined;
  private pending = false;
  private timer: NodeJS.Timeout | undefined;
  private listener: ListenClient | undefined;
  private logger: AccountStateStartOptions['logger'] | undefined;

  constructor(private readonly repository: AccountStateRepository) {}

  /** Why this caller may do nothing: their account was deleted after their token was issued, or is deactivated. */
  refusalOf(viewer: Viewer): GraphQLError | undefined {
    if (this.deletedAt.size > 0) {
      const deleted = this.deletedAt.get(digestOf(viewer.userID));
      if (deleted !== undefined && (viewer.issuedAt ?? 0) <= deleted) return accountDeleted();
    }
    return this.deactivated.has(viewer.userID) ? accountDeactivated() : undefined;
  }

  /** Calls `listener` after each re-read (e.g. to close the sockets of callers now refused). */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  async start(options: AccountStateStartOptions): Promise<void> {
    this.logger = options.logger;
    await this.refresh();
    this.listener = new ListenClient({
      connection: options.listenConnection,
      applicationName: 'profile-service-account-state',
      channels: [ACCOUNT_STATE_CHANNEL],
      name: 'account states',
      logger: options.logger,
      onNotification: () => this.refreshQuietly(),
      // Changes made while no connection listened were not announced to this one.
      onConnected: () => this.refresh().catch((error: unknown) => this.logRefreshFailure(error)),
    });
    await this.listener
      .start()
      .catch((error: unknown) =>
        options.logger.warn(
          { err: error },
          'account states: LISTEN connection failed; retrying, and periodic re-reads continue',
        ),
      );
    this.timer = setInterval(() => this.refreshQuietly(), options.refreshMs);
    this.timer.unref();
  }

  /** Re-reads both tables; calls during a read join it and cause one more read after it. */
  refresh(): Promise<void> {
    if (this.running !== undefined) {
      this.pending = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.pending = false;
          const states = await this.repository.listStates();
          const deactivated = new Set(states.deactivated);
          const deletedAt = new Map(states.deleted.map((row) => [row.digest, row.deletedSecond]));
          const changed = !sameSet(deactivated, this.deactivated) || !sameMap(deletedAt, this.deletedAt);
          this.deactivated = deactivated;
          this.deletedAt = deletedAt;
          if (changed) for (const listener of this.changeListeners) listener();
        } while (this.pending);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.listener?.stop();
    await this.running?.catch(() => undefined);
  }

  private refreshQuietly(): void {
    this.refresh().catch((error: unknown) => this.logRefreshFailure(error));
  }

  private logRefreshFailure(error: unknown): void {
    this.logger?.error({ err: error }, 'account states: re-read failed; keeping the last copy');
  }
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const value of a) if (!b.has(value)) return false;
  return true;
}

function sameMap(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of a) if (b.get(key) !== value) return false;
  return true;
}
