import { GraphQLID } from 'graphql';
import { Arg, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { requireViewer, type Context } from '../context.js';
import { UpdateMyProfileInput } from '../user/user.inputs.js';
import { User } from '../user/user.types.js';
import { AccountCheck, ImportAccountInput } from './admin.types.js';

@Resolver()
export class AccountAdminResolver {
  @Query(() => User, {
    nullable: true,
    description:
      "Administrators: any user's full profile, PRIVATE custom fields included; null when the account does not exist.",
  })
  async userProfile(
    @Arg('userID', () => GraphQLID, { description: 'The account to read.' }) userID: string,
    @Ctx() context: Context,
  ): Promise<User | null> {
    return context.services.accountAdminService.getProfile(requireViewer(context), userID);
  }

  @Query(() => [AccountCheck], {
    description:
      'Administrators: whether each account exists, one answer per ID in the order given. ' +
      'At most 100 IDs (more is BAD_USER_INPUT with reason TOO_MANY).',
  })
  async checkAccounts(
    @Arg('ids', () => [GraphQLID], { description: 'Account IDs, at most 100.' }) ids: string[],
    @Ctx() context: Context,
  ): Promise<AccountCheck[]> {
    return context.services.accountAdminService.checkAccounts(requireViewer(context), ids);
  }

  @Mutation(() => [User], {
    description:
      'Administrators: creates the accounts that do not exist and sets the given nick and avatar on those that do ' +
      '(idempotent). At most 100 distinct accounts, all or none. Returns the profiles in the order given.',
  })
  async importAccounts(
    @Arg('accounts', () => [ImportAccountInput], { description: 'The accounts, at most 100, each ID once.' })
    accounts: ImportAccountInput[],
    @Ctx() context: Context,
  ): Promise<User[]> {
    return context.services.accountAdminService.importAccounts(
      requireViewer(context),
      accounts,
      context.loaders.profile,
    );
  }

  @Mutation(() => User, {
    description:
      "Administrators: updates an existing user's profile with the same input and rules as updateMyProfile, " +
      'adminForbidType and ADMIN custom fields included. An account that does not exist is BAD_USER_INPUT ' +
      'with reason UNKNOWN_ACCOUNT (import it first).',
  })
  async setUserProfile(
    @Arg('userID', () => GraphQLID, { description: 'The account to update.' }) userID: string,
    @Arg('input', () => UpdateMyProfileInput, { description: 'The fields to change.' }) input: UpdateMyProfileInput,
    @Ctx() context: Context,
  ): Promise<User> {
    return context.services.accountAdminService.setProfile(
      requireViewer(context),
      userID,
      input,
      context.loaders.profile,
    );
  }
}
