import { Field, InputType, Int } from 'type-graphql';
import { UInt32 } from '../scalars/uint32.scalar.js';
import { AllowType, ForbidType, Gender } from './user.enums.js';
import type { CustomFieldEntry, ProfileUpdateInput } from './user.rules.js';

@InputType({ description: 'A custom field to set. An empty value removes the field.' })
export class ProfileCustomFieldInput implements CustomFieldEntry {
  @Field({ description: 'A declared key, `Tag_Profile_Custom_` followed by its name.' })
  key!: string;

  @Field({ description: 'The new value, at most 500 UTF-8 bytes; "" removes the field.' })
  value!: string;
}

@InputType({
  description:
    'A partial profile update. Omitted fields are left alone; clear a field with "" or 0. ' +
    'null is refused. At least one field is required.',
})
export class UpdateMyProfileInput implements ProfileUpdateInput {
  @Field({ nullable: true, description: 'Nickname, at most 500 UTF-8 bytes.' })
  nick?: string;

  @Field({ nullable: true, description: 'An http(s) URL, or "" to clear; at most 500 UTF-8 bytes.' })
  avatar?: string;

  @Field(() => Gender, { nullable: true, description: 'Gender.' })
  gender?: Gender;

  @Field({ nullable: true, description: 'Status line, at most 500 UTF-8 bytes; newlines and tabs allowed.' })
  selfSignature?: string;

  @Field(() => AllowType, { nullable: true, description: 'How friend requests to this user are handled.' })
  allowType?: AllowType;

  @Field(() => UInt32, { nullable: true, description: '0, or a real date written YYYYMMDD (year 1000 to 9999).' })
  birthday?: number;

  @Field({ nullable: true, description: 'Location, at most 16 UTF-8 bytes.' })
  location?: string;

  @Field(() => UInt32, { nullable: true, description: 'Language number.' })
  language?: number;

  @Field(() => Int, { nullable: true, description: '0 (receive messages) or 1 (block them).' })
  messageSettings?: number;

  @Field(() => ForbidType, {
    nullable: true,
    description: 'Administrators only: bar the user from sending friend requests.',
  })
  adminForbidType?: ForbidType;

  @Field(() => UInt32, { nullable: true, description: 'Level.' })
  level?: number;

  @Field(() => UInt32, { nullable: true, description: 'Role.' })
  role?: number;

  @Field(() => [ProfileCustomFieldInput], {
    nullable: true,
    description:
      'Custom fields to set or remove, merged by key; other custom fields are left alone. Each key at most once.',
  })
  profileCustomField?: ProfileCustomFieldInput[];
}
