import type { Viewer } from '../auth/viewer.js';
import type { ProfileLoader } from '../user/user.loaders.js';
import type { UserView } from '../user/user.presenter.js';
import type { UserProfileService } from '../user/user.service.js';
import type { UserSearchRepository } from './search.repository.js';
import { encodeCursor, planSearch, type SearchUsersRequest } from './search.rules.js';

export interface UserSearchPageView {
  readonly users: UserView[];
  readonly nextCursor: string | null;
}

/** searchUsers: the rules (search.rules.ts), the matches (search.repository.ts), and the profiles as users(ids:) shows them. */
export class UserSearchService {
  constructor(
    private readonly repository: UserSearchRepository,
    private readonly profiles: UserProfileService,
  ) {}

  async searchUsers(viewer: Viewer, request: SearchUsersRequest, loader: ProfileLoader): Promise<UserSearchPageView> {
    const { query, pageSize, fingerprint } = planSearch(request);
    const hits = await this.repository.findMatches(query);
    const page = hits.slice(0, pageSize);
    // The same call users(ids:) makes: the same visibility, custom fields and order of the IDs given.
    // An account deactivated since the search read it is left out; the cursor still follows the page.
    const users = await this.profiles.getProfiles(
      viewer,
      page.map((hit) => hit.userID),
      loader,
    );
    const last = page.at(-1);
    return {
      users,
      nextCursor: hits.length > pageSize && last !== undefined ? encodeCursor(fingerprint, last) : null,
    };
  }
}
