import { createHash } from 'node:crypto';
import type { GraphQLError } from 'graphql';
import type { ClientConfig } from 'pg';
import type { Logger } from 'pino';
import type { Viewer } from '../auth/viewer.js';
import { NotifiedCopy } from '../db/notified-copy.js';
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
 * current by NotifiedCopy: the tables' NOTIFY (any instance), each reconnection of its listener,
 * this instance's own changes, and every `refreshMs`.
 *
 * Statements that could let a stale copy do harm check the tables themselves: an account is never
 * created for a token older than its deletion (see UserProfileRepository.createIfMissing).
 */
export class AccountStateRegistry {
  private deactivated: ReadonlySet<string> = new Set();
  /** Per digest of a deleted ID: the second of its deletion; tokens issued then or before are refused. */
  private deletedAt: ReadonlyMap<string, number> = new Map();
  private readonly changeListeners = new Set<() => void>();
  private copy: NotifiedCopy | undefined;

  constructor(private readonly repository: AccountStateRepository) {}

  /** Why this caller may do nothing: their account was deleted after their token was issued, or is deactivated. */
  refusalOf(viewer: Viewer): GraphQLError | undefined {
    if (this.deletedAt.size > 0) {
      const deleted = this.deletedAt.get(digestOf(viewer.userID));
      if (deleted !== undefined && (viewer.issuedAt ?? 0) <= deleted) return accountDeleted();
    }
    return this.deactivated.has(viewer.userID) ? accountDeactivated() : undefined;
  }

  /** Calls `listener` after each re-read that changed something (e.g. to close the sockets of callers now refused). */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  async start(options: AccountStateStartOptions): Promise<void> {
    this.copy = new NotifiedCopy(() => this.read(), {
      name: 'account states',
      applicationName: 'profile-service-account-state',
      channel: ACCOUNT_STATE_CHANNEL,
      ...options,
    });
    await this.copy.start();
  }

  /** Re-reads both tables (see NotifiedCopy.refresh); before start, reads them once. */
  refresh(): Promise<void> {
    return this.copy?.refresh() ?? this.read();
  }

  async stop(): Promise<void> {
    await this.copy?.stop();
  }

  private async read(): Promise<void> {
    const states = await this.repository.listStates();
    const deactivated = new Set(states.deactivated);
    const deletedAt = new Map(states.deleted.map((row) => [row.digest, row.deletedSecond]));
    const changed = !sameSet(deactivated, this.deactivated) || !sameMap(deletedAt, this.deletedAt);
    this.deactivated = deactivated;
    this.deletedAt = deletedAt;
    if (changed) for (const listener of this.changeListeners) listener();
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
