import type { PoolClient } from 'pg';

import type { ChangeNotice } from './profile-event.repository.js';

/** What travels between instances: which user's profile changed, and the outbox event's ID. */
export type { ChangeNotice };

export interface BusHandlers {
  /** A batch of notices published by some instance's relay. */
  onNotices(notices: readonly ChangeNotice[]): void;
  /**
   * The listener is (again) connected and subscribed. Notices published while it was down are
   * lost; the handler catches up from the outbox. The promise failing makes the bus reconnect.
   */
  onConnected(): Promise<void>;
}

/** Carries change notices from the relays to every instance sharing the database. */
export interface EventBus {
  readonly kind: 'postgres' | 'redis';
  start(handlers: BusHandlers): Promise<void>;
  /** Publishes within the relay's transaction: the notices go out only if it commits. */
  publish(notices: readonly ChangeNotice[], transaction: PoolClient): Promise<void>;
  /**
   * Set when notices travel by Postgres NOTIFY on this channel: the relay then claims and
   * notifies in one statement, whose commit sends the notices.
   */
  readonly notifyChannel?: string;
  stop(): Promise<void>;
}

/** NOTIFY payloads must stay under 8000 bytes; each message stays well below that. */
const MAX_MESSAGE_BYTES = 7000;

/** Encodes notices as compact JSON arrays `[[eventID, userID], ...]`, each under the size limit. */
export function encodeNotices(notices: readonly ChangeNotice[]): string[] {
  const messages: string[] = [];
  let parts: string[] = [];
  let size = 2;
  for (const notice of notices) {
    const part = JSON.stringify([notice.eventID, notice.userID]);
    const bytes = Buffer.byteLength(part) + 1;
    if (parts.length > 0 && size + bytes > MAX_MESSAGE_BYTES) {
      messages.push(`[${parts.join(',')}]`);
      parts = [];
      size = 2;
    }
    parts.push(part);
    size += bytes;
  }
  if (parts.length > 0) messages.push(`[${parts.join(',')}]`);
  return messages;
}

/** Decodes one message; anything malformed yields no notices rather than an exception. */
export function decodeNotices(message: string): ChangeNotice[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const notices: ChangeNotice[] = [];
  for (const item of parsed) {
    if (Array.isArray(item) && typeof item[0] === 'string' && /^\d+$/.test(item[0]) && typeof item[1] === 'string') {
      notices.push({ eventID: item[0], userID: item[1] });
    }
  }
  return notices;
}
