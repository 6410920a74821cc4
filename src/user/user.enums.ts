import { registerEnumType } from 'type-graphql';
import { AllowType, ForbidType, Gender } from './profile-fields.js';

// The enums are declared with the fields that use them (profile-fields.ts, plain data the client
// shares); here they get their GraphQL names and descriptions.
export { AllowType, ForbidType, Gender };

registerEnumType(Gender, {
  name: 'Gender',
  description: "The user's gender, as the user states it.",
  valuesConfig: {
    UNKNOWN: { description: 'Not stated (the default).' },
    FEMALE: { description: 'Female.' },
    MALE: { description: 'Male.' },
  },
});

registerEnumType(AllowType, {
  name: 'AllowType',
  description: 'How friend requests sent to this user are handled.',
  valuesConfig: {
    ALLOW_ANY: { description: 'Anyone may add this user as a friend without confirmation.' },
    NEED_CONFIRM: { description: 'This user confirms each friend request (the default).' },
    DENY_ANY: { description: 'Friend requests to this user are refused.' },
  },
});

registerEnumType(ForbidType, {
  name: 'ForbidType',
  description: 'Whether an administrator has barred this user from sending friend requests.',
  valuesConfig: {
    NONE: { description: 'The user may send friend requests (the default).' },
    SEND_OUT: { description: 'The user is barred from sending friend requests.' },
  },
});

/** Where an account stands, as profiles and profileUpdated deliveries show it. */
export enum AccountStatus {
  ACTIVE = 'ACTIVE',
  DEACTIVATED = 'DEACTIVATED',
  DELETED = 'DELETED',
}

registerEnumType(AccountStatus, {
  name: 'AccountStatus',
  description:
    'Where an account stands. Reads show only ACTIVE accounts, except an administrator reading userProfile; ' +
    'profileUpdated also delivers DEACTIVATED and DELETED, with every other field at its default.',
  valuesConfig: {
    ACTIVE: { description: 'In use.' },
    DEACTIVATED: {
      description:
        'Deactivated by an administrator: its data is kept but shown to nobody else, and its owner is refused.',
    },
    DELETED: { description: 'Erased, by its owner or an administrator; the ID may become a new account later.' },
  },
});
