import { ErrorReason } from '../errors.js';
import { badInput, checkText, checkUserIDList } from '../shared/input-rules.js';
import { UserStatusType } from './presence.enums.js';
import type { StatusRow } from './presence.repository.js';

/** Tencent's own limits: getUserStatus cuts at 500 IDs, subscribeUserStatus at 100; custom status in UTF-8 bytes. */
export const STATUS_LIMITS = {
  userIDsPerRead: 500,
  userIDsPerSubscription: 100,
  customStatusBytes: 100,
} as const;

/** A user's status as every reader sees it: the same for every viewer. */
export interface UserStatusView {
  readonly userID: string;
  readonly statusType: UserStatusType;
  readonly customStatus: string;
  /** When the last connection ended (OFFLINE only; null otherwise). */
  readonly lastSeenAt: Date | null;
}

/** A list of 1 to `max` valid IDs (BAD_USER_INPUT: TOO_MANY, INVALID_VALUE for none); the distinct ones. */
export function checkStatusIDs(field: string, ids: readonly string[], max: number): string[] {
  const distinct = checkUserIDList(field, ids, undefined, max);
  if (distinct.length === 0) throw badInput(field, ErrorReason.INVALID_VALUE, 'names no user');
  return distinct;
}

/** A custom status: at most 100 UTF-8 bytes, no control characters; "" clears it. */
export function checkCustomStatus(value: string): string {
  checkText('customStatus', value, STATUS_LIMITS.customStatusBytes);
  return value;
}

/** What the statuses read found, as a status; an ID the read did not return has no account. */
export function presentStatus(userID: string, row: StatusRow | undefined): UserStatusView {
  if (row === undefined || !row.active) {
    return { userID, statusType: UserStatusType.UNKNOWN, customStatus: '', lastSeenAt: null };
  }
  const customStatus = row.custom_status;
  if (row.online) return { userID, statusType: UserStatusType.ONLINE, customStatus, lastSeenAt: null };
  // Sessions left on a dead instance not swept yet: last seen at its last heartbeat.
  const seen = [row.last_seen_at, row.last_beat].filter((time): time is Date => time !== null);
  if (seen.length === 0) return { userID, statusType: UserStatusType.UNLOGINED, customStatus, lastSeenAt: null };
  const lastSeenAt = new Date(Math.max(...seen.map((time) => time.getTime())));
  return { userID, statusType: UserStatusType.OFFLINE, customStatus, lastSeenAt };
}

/** Two statuses a subscriber would tell apart (lastSeenAt follows the type). */
export const statusKeyOf = (status: UserStatusView): string => `${status.statusType}\u0000${status.customStatus}`;
