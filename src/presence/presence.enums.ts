import { registerEnumType } from 'type-graphql';

/** Tencent Cloud Chat's four user statuses (its TYPES.USER_STATUS_*: 0, 1, 2, 3 in that order). */
export enum UserStatusType {
  UNKNOWN = 'UNKNOWN',
  ONLINE = 'ONLINE',
  OFFLINE = 'OFFLINE',
  UNLOGINED = 'UNLOGINED',
}

registerEnumType(UserStatusType, {
  name: 'UserStatusType',
  description: 'Whether a user is connected, as Tencent Cloud Chat reports it (see docs/presence.md).',
  valuesConfig: {
    UNKNOWN: { description: 'No such account, or it is deactivated or deleted.' },
    ONLINE: { description: 'Holds at least one authenticated graphql-ws connection, on any instance.' },
    OFFLINE: {
      description: 'Has connected before; no connection is open now. `lastSeenAt` says when the last one ended.',
    },
    UNLOGINED: { description: 'An account that has never connected.' },
  },
});
