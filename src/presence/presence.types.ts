import { GraphQLID } from 'graphql';
import { Field, ObjectType } from 'type-graphql';
import { UserStatusType } from './presence.enums.js';
import { STATUS_LIMITS } from './presence.rules.js';

@ObjectType({
  description: "A user's status: whether they are connected, and the short custom status they set.",
  simpleResolvers: true,
})
export class UserStatus {
  @Field(() => GraphQLID, { description: 'The ID asked for.' })
  userID!: string;

  @Field(() => UserStatusType, { description: 'ONLINE, OFFLINE, UNLOGINED (never connected) or UNKNOWN (no account).' })
  statusType!: UserStatusType;

  @Field({
    description: `What the user set with setMyStatus (at most ${STATUS_LIMITS.customStatusBytes} UTF-8 bytes), kept across connections until they set another; "" for none and for UNKNOWN.`,
  })
  customStatus!: string;

  @Field(() => Date, {
    nullable: true,
    description:
      'OFFLINE only: when the last connection ended (or, for an instance that stopped without closing it, ' +
      'when that instance was last alive). Null while ONLINE, for UNLOGINED and for UNKNOWN.',
  })
  lastSeenAt!: Date | null;
}
