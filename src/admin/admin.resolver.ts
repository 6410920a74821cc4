import { GraphQLID } from 'graphql';
import { Arg, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { requireViewer, type RequestContext } from '../shared/request-context.js';
import { LIMITS } from '../shared/input-rules.js';
import { UpdateMyProfileInput } from '../user/user.inputs.js';
import { User } from '../user/user.types.js';
import { ImportAccountInput } from './admin.types.js';
import type { ProfileLoaderOf } from '../user/user.loaders.js';
import type { AccountAdminService } from './admin.service.js';

@Resolver()
export class AccountAdminResolver {
  constructor(
    private readonly admins: AccountAdminService,
    private readonly loaderOf: ProfileLoaderOf,
  ) {}

  @Query(() => User, {
    nullable: true,
    description:
      "Administrators: any user's full profile, PRIVATE custom fields included; null when the account does not exist.",
  })
  async userProfile(
    @Arg('userID', () => GraphQLID, { description: 'The account to read.' }) userID: string,
    @Ctx() context: RequestContext,
  ): Promise<User | null> {
    return this.admins.getProfile(requireViewer(context), userID);
  }

  @Mutation(() => [User], {
    description:
      'Administrators: creates the accounts that do not exist and sets the given nick and avatar on those that do ' +
      `(idempotent). At most ${LIMITS.userIDsPerRequest} accounts (more is BAD_USER_INPUT with reason TOO_MANY), ` +
      'all or none. Returns the profiles in the order given.',
  })
  async importAccounts(
    @Arg('accounts', () => [ImportAccountInput], {
      description: `The accounts, at most ${LIMITS.userIDsPerRequest}, each ID once.`,
    })
    accounts: ImportAccountInput[],
    @Ctx() context: RequestContext,
  ): Promise<User[]> {
    return this.admins.importAccounts(requireViewer(context), accounts, this.loaderOf(context));
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
    @Ctx() context: RequestContext,
  ): Promise<User> {
    return this.admins.setProfile(requireViewer(context), userID, input, this.loaderOf(context));
  }
}
