import { GraphQLID } from 'graphql';
import { Field, InputType, ObjectType } from 'type-graphql';

@InputType({ description: 'An account to import. Omitted nick or avatar: left as it is, or "" for a new account.' })
export class ImportAccountInput {
  @Field(() => GraphQLID, { description: 'The account ID, at most 32 UTF-8 bytes.' })
  userID!: string;

  @Field({ nullable: true, description: 'Nickname, at most 500 UTF-8 bytes (same rules as updateMyProfile).' })
  nick?: string;

  @Field({ nullable: true, description: 'An http(s) URL, or "" to clear; at most 500 UTF-8 bytes.' })
  avatar?: string;
}

@ObjectType({ description: 'Whether an account exists, and whether it is deactivated.', simpleResolvers: true })
export class AccountCheck {
  @Field(() => GraphQLID, { description: 'The account ID asked about.' })
  userID!: string;

  @Field({ description: 'True when the account exists (was imported or has signed in).' })
  exists!: boolean;

  @Field({ description: 'True when the account exists and an administrator has deactivated it.' })
  deactivated!: boolean;
}
