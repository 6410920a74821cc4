import { GraphQLID, GraphQLString, type GraphQLScalarType } from 'graphql';
import { Directive, Field, Int, ObjectType } from 'type-graphql';
import { UInt32 } from '../scalars/uint32.scalar.js';
import { STANDARD_FIELDS, specOf, type FieldSpec, type StandardValues } from './profile-fields.js';
import { AccountStatus } from './user.enums.js';
import type { CustomFieldEntry } from './user.rules.js';

/** The GraphQL type of a standard field, from its kind (enums are registered in user.enums.ts). */
export function graphqlTypeOf(spec: FieldSpec): GraphQLScalarType | object {
  switch (spec.kind) {
    case 'text':
      return GraphQLString;
    case 'uint32':
      return UInt32;
    case 'choice':
      return Int;
    case 'enum':
      return spec.values;
  }
}

@ObjectType({ description: 'A custom profile field: a declared key and its value.', simpleResolvers: true })
export class ProfileCustomField implements CustomFieldEntry {
  @Field({ description: 'The full key, `Tag_Profile_Custom_` followed by its name.' })
  key!: string;

  @Field({ description: 'The value, at most 500 UTF-8 bytes. Fields without a value are not listed.' })
  value!: string;
}

/** A chat user's profile: the standard fields of profile-fields.ts, declared on the class below. */
// A class and an interface of one name merge: the interface brings the standard fields' types.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
export interface User extends StandardValues {}

@Directive('@key(fields: "userID")')
@ObjectType({ description: "A chat user's profile.", simpleResolvers: true })
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class User {
  userID!: string;
  profileCustomField!: ProfileCustomField[];
  lastUpdatedTime!: Date;
  accountStatus!: AccountStatus;
}

// Fields in SDL order: the ID, the standard fields as declared, then the custom fields and the time.
Field(() => GraphQLID, { description: 'The account ID, at most 32 UTF-8 bytes.' })(User.prototype, 'userID');
for (const field of STANDARD_FIELDS) {
  const spec = specOf(field);
  Field(() => graphqlTypeOf(spec), { description: spec.description })(User.prototype, field);
}
Field(() => [ProfileCustomField], { description: 'Custom fields that have a value, ordered by key.' })(
  User.prototype,
  'profileCustomField',
);
Field(() => Date, {
  description: 'Server time of the last update that changed a value (the creation time before any).',
})(User.prototype, 'lastUpdatedTime');
Field(() => AccountStatus, {
  description:
    'ACTIVE, except for an administrator reading a deactivated account (DEACTIVATED) and in profileUpdated ' +
    'deliveries of an account deactivated or deleted (DEACTIVATED, DELETED: every other field at its default).',
})(User.prototype, 'accountStatus');
