import { GraphQLID } from 'graphql';
import { Arg, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { requireViewer, type RequestContext } from '../shared/request-context.js';
import { LIMITS } from '../shared/input-rules.js';
import { UpdateMyProfileInput } from './user.inputs.js';
import type { ProfileLoaderOf } from './user.loaders.js';
import type { UserProfileService } from './user.service.js';
import { User } from './user.types.js';

@Resolver(() => User)
export class UserResolver {
  constructor(
    private readonly profiles: UserProfileService,
    private readonly loaderOf: ProfileLoaderOf,
  ) {}

  @Query(() => User, { description: "The caller's own profile. The account is created on first use." })
  async me(@Ctx() context: RequestContext): Promise<User> {
    return this.profiles.getOwnProfile(requireViewer(context), this.loaderOf(context));
  }

  @Query(() => [User], {
    description:
      'Profiles of the given users, in the order asked, each once; IDs with no account are left out. ' +
      `At most ${LIMITS.userIDsPerRequest} distinct IDs (more is BAD_USER_INPUT with reason TOO_MANY).`,
  })
  async users(
    @Arg('ids', () => [GraphQLID], {
      description: `User IDs: at most ${LIMITS.userIDsPerRequest} distinct ones; repeats count once.`,
    })
    ids: string[],
    @Ctx() context: RequestContext,
  ): Promise<User[]> {
    return this.profiles.getProfiles(requireViewer(context), ids, this.loaderOf(context));
  }

  @Mutation(() => User, {
    description:
      "Updates the caller's own profile: only the given fields change, all at once or not at all. " +
      'adminForbidType and custom fields defined with write ADMIN need an administrator token. ' +
      'Returns the profile after the update.',
  })
  async updateMyProfile(
    @Arg('input', () => UpdateMyProfileInput, { description: 'The fields to change.' }) input: UpdateMyProfileInput,
    @Ctx() context: RequestContext,
  ): Promise<User> {
    return this.profiles.updateOwnProfile(requireViewer(context), input, this.loaderOf(context));
  }
}
