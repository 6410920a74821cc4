import { Field, ObjectType } from 'type-graphql';
import { User } from '../user/user.types.js';

@ObjectType({ description: 'One page of searchUsers.', simpleResolvers: true })
export class UserSearchPage {
  @Field(() => [User], {
    description:
      'The matching users, shown as users(ids:) shows them: first those whose user ID equals a keyword, then those ' +
      'whose nickname starts with one, then the rest; by user ID within each group. Deactivated accounts never appear.',
  })
  users!: User[];

  @Field(() => String, {
    nullable: true,
    description: 'Pass as `after` for the next page; null on the last page.',
  })
  nextCursor!: string | null;
}
