import { GraphQLID } from 'graphql';
import { Arg, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { requireViewer, type Context } from '../context.js';
import { WarningCode } from '../errors.js';
import { LIMITS } from '../shared/input-rules.js';
import { UpdateMyProfileInput } from './user.inputs.js';
import { User } from './user.types.js';

@Resolver(() => User)
export class UserResolver {
  @Query(() => User, { description: "The caller's own profile. The account is created on first use." })
  async me(@Ctx() context: Context): Promise<User> {
    return context.services.profileService.getOwnProfile(requireViewer(context), context.loaders.profile);
  }

  @Query(() => [User], {
    description:
      'Profiles of the given users, in the order asked, each once; IDs with no account are left out. ' +
      'Only the first 100 distinct IDs are used; more adds a USER_IDS_TRUNCATED warning to extensions.warnings.',
  })
  async users(
    @Arg('ids', () => [GraphQLID], { description: 'User IDs; at most 100 distinct ones are used.' }) ids: string[],
    @Ctx() context: Context,
  ): Promise<User[]> {
    const viewer = requireViewer(context);
    const result = await context.services.profileService.getProfiles(viewer, ids, context.loaders.profile);
    if (result.truncatedFrom !== undefined) {
      context.warnings.push({
        code: WarningCode.USER_IDS_TRUNCATED,
        message: `users(ids:) received ${result.truncatedFrom} distinct IDs; only the first ${LIMITS.userIDsPerRequest} were used`,
        received: result.truncatedFrom,
        used: LIMITS.userIDsPerRequest,
      });
    }
    return result.users;
  }

  @Mutation(() => User, {
    description:
      "Updates the caller's own profile: only the given fields change, all at once or not at all. " +
      'adminForbidType and custom fields defined with write ADMIN need an administrator token. ' +
      'Returns the profile after the update.',
  })
  async updateMyProfile(
    @Arg('input', () => UpdateMyProfileInput, { description: 'The fields to change.' }) input: UpdateMyProfileInput,
    @Ctx() context: Context,
  ): Promise<User> {
    return context.services.profileService.updateOwnProfile(requireViewer(context), input, context.loaders.profile);
  }
}
