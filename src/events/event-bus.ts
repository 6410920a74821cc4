import type { ChangeNotice } from './profile-event.repository.js';

/** What travels between instances: which user's profile changed, and the outbox event's ID. */
export type { ChangeNotice };

export interface BusHandlers {
  /** A batch of notices published by some instance's relay. */
  onNotices(notices: readonly ChangeNotice[]): void;
  /** Users whose online status or custom status some instance changed (see src/presence/). */
  onStatusNotices(userIDs: readonly string[]): void;
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
  /**
   * Sends notices of committed events; the relay marks the events relayed only once this resolved,
   * so a notice is sent at least once (a bus with `notifyChannel` is not asked: its relay notifies
   * in the claiming statement).
   */
  publish(notices: readonly ChangeNotice[]): Promise<void>;
  /**
   * Announces, after they committed, status changes of these users. A status is read afresh by
   * whoever receives the notice, so a notice sent twice costs a read, and one lost leaves remote
   * subscribers behind until the user's next change.
   */
  publishStatus(userIDs: readonly string[]): Promise<void>;
  /**
   * Set when notices travel by Postgres NOTIFY on this channel: the relay then claims and
   * notifies in one statement, whose commit sends the notices.
   */
  readonly notifyChannel?: string;
  stop(): Promise<void>;
}

/** NOTIFY payloads must stay under 8000 bytes; each message stays well below that. */
const MAX_MESSAGE_BYTES = 7000;

/** The channel status notices travel on, beside the profile change notices' own. */
export const statusChannelOf = (channel: string): string => `${channel}:status`;

/** Joins JSON items into JSON arrays, each message under the size limit. */
function packed(items: readonly string[]): string[] {
  const messages: string[] = [];
  let parts: string[] = [];
  let size = 2;
  for (const part of items) {
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

/** Encodes notices as compact JSON arrays `[[eventID, userID], ...]`, each under the size limit. */
export const encodeNotices = (notices: readonly ChangeNotice[]): string[] =>
  packed(notices.map((notice) => JSON.stringify([notice.eventID, notice.userID])));

/** Encodes status notices as JSON arrays of user IDs, each under the size limit. */
export const encodeStatusNotices = (userIDs: readonly string[]): string[] =>
  packed(userIDs.map((userID) => JSON.stringify(userID)));

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

/** Decodes one status message; anything malformed yields no user rather than an exception. */
export function decodeStatusNotices(message: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return [];
  }
  return Array.isArray(parsed) ? parsed.filter((item): item is string => typeof item === 'string') : [];
}
