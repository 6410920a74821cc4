import { GraphQLID } from 'graphql';
import { Field, ObjectType, registerEnumType } from 'type-graphql';
import { PROFILE_EVENT_TYPES, type ProfileEventType } from '../events/profile-event.entity.js';
import { ProfileCustomField, User } from '../user/user.types.js';
import type {
  AccountDeletion as AccountDeletionView,
  FieldChange as FieldChangeView,
  ProfileHistoryEntry as ProfileHistoryEntryView,
} from './account.service.js';

/** The outbox's event types, as GraphQL shows them in a data export. */
export const ProfileEventTypeEnum = Object.fromEntries(PROFILE_EVENT_TYPES.map((type) => [type, type])) as {
  readonly [T in ProfileEventType]: T;
};

registerEnumType(ProfileEventTypeEnum, {
  name: 'ProfileEventType',
  description: 'What an event of the change history records (the same names as the webhook eventType).',
  valuesConfig: {
    PROFILE_UPDATED: { description: 'Profile values changed.' },
    ACCOUNT_DELETED: { description: 'The account was erased.' },
    ACCOUNT_DEACTIVATED: { description: 'An administrator deactivated the account.' },
    ACCOUNT_REACTIVATED: { description: 'An administrator reactivated the account.' },
  },
});

@ObjectType({ description: 'The outcome of erasing one account.', simpleResolvers: true })
export class AccountDeletion implements AccountDeletionView {
  @Field(() => GraphQLID, { description: 'The account ID asked about.' })
  userID!: string;

  @Field({ description: 'True when an account was erased; false when there was none.' })
  deleted!: boolean;
}

@ObjectType({ description: 'One changed value in a history entry.', simpleResolvers: true })
export class FieldChange implements FieldChangeView {
  @Field({ description: 'The field: a User field name, or a custom field key (`Tag_Profile_Custom_...`).' })
  field!: string;

  @Field(() => String, {
    nullable: true,
    description: 'The new value as text (numbers in decimal, enums by name); null when a custom value was removed.',
  })
  value!: string | null;
}

@ObjectType({ description: 'One event of the change history we keep.', simpleResolvers: true })
export class ProfileHistoryEntry implements ProfileHistoryEntryView {
  @Field(() => GraphQLID, { description: 'The event, as the webhook and profileUpdated name it.' })
  eventID!: string;

  @Field(() => ProfileEventTypeEnum, { description: 'What happened.' })
  eventType!: ProfileEventType;

  @Field({ description: 'When it committed.' })
  eventTime!: Date;

  @Field(() => GraphQLID, { description: 'Who did it: the owner, or an administrator.' })
  operator!: string;

  @Field(() => [FieldChange], {
    description: 'The values it changed, standard fields first; empty for account events.',
  })
  changes!: FieldChange[];
}

@ObjectType({ description: 'Everything the service holds about the caller.', simpleResolvers: true })
export class PersonalDataExport {
  @Field({ description: 'When this export was made.' })
  exportedAt!: Date;

  @Field(() => User, { description: 'The profile as its owner sees it (PRIVATE custom fields included).' })
  profile!: User;

  @Field(() => [ProfileCustomField], {
    description:
      'Every custom value stored for the caller, ordered by key: those of fields retired or no longer defined included.',
  })
  storedCustomFields!: ProfileCustomField[];

  @Field(() => [ProfileHistoryEntry], {
    description:
      'The change history still retained (see PROFILE_EVENTS_RETENTION_HOURS in docs/configuration.md), oldest first.',
  })
  history!: ProfileHistoryEntry[];
}
