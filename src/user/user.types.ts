import { GraphQLID } from 'graphql';
import { Directive, Field, Int, ObjectType } from 'type-graphql';
import { UInt32 } from '../scalars/uint32.scalar.js';
import { AllowType, ForbidType, Gender } from './user.enums.js';
import type { CustomFieldEntry, StandardValues } from './user.rules.js';

@ObjectType({ description: 'A custom profile field: a declared key and its value.', simpleResolvers: true })
export class ProfileCustomField implements CustomFieldEntry {
  @Field({ description: 'The full key, `Tag_Profile_Custom_` followed by its name.' })
  key!: string;

  @Field({ description: 'The value, at most 500 UTF-8 bytes. Fields without a value are not listed.' })
  value!: string;
}

@Directive('@key(fields: "userID")')
@ObjectType({ description: "A chat user's profile.", simpleResolvers: true })
export class User implements StandardValues {
  @Field(() => GraphQLID, { description: 'The account ID, at most 32 UTF-8 bytes.' })
  userID!: string;

  @Field({ description: 'Nickname, at most 500 UTF-8 bytes; "" when unset.' })
  nick!: string;

  @Field({ description: 'Avatar URL (http or https), at most 500 UTF-8 bytes; "" when unset.' })
  avatar!: string;

  @Field(() => Gender, { description: 'Gender; UNKNOWN when unset.' })
  gender!: Gender;

  @Field({ description: 'Status line, at most 500 UTF-8 bytes; may contain newlines and tabs.' })
  selfSignature!: string;

  @Field(() => AllowType, { description: 'How friend requests to this user are handled.' })
  allowType!: AllowType;

  @Field(() => UInt32, { description: 'Birthday written YYYYMMDD (e.g. 19900415), or 0 when unset.' })
  birthday!: number;

  @Field({ description: 'Location, at most 16 UTF-8 bytes; "" when unset.' })
  location!: string;

  @Field(() => UInt32, { description: 'Language, as a number the app maps to a language; 0 when unset.' })
  language!: number;

  @Field(() => Int, { description: 'Message setting: 0 receives messages, 1 blocks them.' })
  messageSettings!: number;

  @Field(() => ForbidType, { description: 'Whether an administrator barred this user from sending friend requests.' })
  adminForbidType!: ForbidType;

  @Field(() => UInt32, { description: 'Level, as the app defines it; 0 when unset.' })
  level!: number;

  @Field(() => UInt32, { description: 'Role, as the app defines it; 0 when unset.' })
  role!: number;

  @Field(() => [ProfileCustomField], { description: 'Custom fields that have a value, ordered by key.' })
  profileCustomField!: ProfileCustomField[];

  @Field({ description: 'Server time of the last update that changed a value (the creation time before any).' })
  lastUpdatedTime!: Date;
}
