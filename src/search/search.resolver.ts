import { Arg, Ctx, Query, Resolver } from 'type-graphql';
import { requireViewer, type RequestContext } from '../shared/request-context.js';
import type { ProfileLoaderOf } from '../user/user.loaders.js';
import { SearchUsersInput } from './search.inputs.js';
import { SEARCH_LIMITS } from './search.rules.js';
import type { UserSearchService } from './search.service.js';
import { UserSearchPage } from './search.types.js';

@Resolver(() => UserSearchPage)
export class UserSearchResolver {
  constructor(
    private readonly search: UserSearchService,
    private readonly loaderOf: ProfileLoaderOf,
  ) {}

  @Query(() => UserSearchPage, {
    description:
      'Finds users by user ID (exactly) and nickname (anywhere in it, any script, ignoring case and width). ' +
      `At most ${SEARCH_LIMITS.keywords} keywords and ${SEARCH_LIMITS.pageSize} users a page; a per-user rate ` +
      'limit applies (RATE_LIMITED). The caller is included when they match.',
  })
  async searchUsers(
    @Arg('input', () => SearchUsersInput, { description: 'Keywords, filters and the page.' }) input: SearchUsersInput,
    @Ctx() context: RequestContext,
  ): Promise<UserSearchPage> {
    return this.search.searchUsers(requireViewer(context), input, this.loaderOf(context));
  }
}
