import { requireViewer, type RequestContext } from '../shared/request-context.js';
import type { ProfileLoaderOf } from './user.loaders.js';
import type { UserProfileService } from './user.service.js';
import type { User } from './user.types.js';

/**
 * Resolves `User` representations for the federated gateway through the request's profile
 * loader, so any number of representations costs one statement. Unknown IDs resolve to null.
 */
export function createUserReferenceResolver(profiles: UserProfileService, loaderOf: ProfileLoaderOf) {
  return {
    async __resolveReference(reference: { userID: string }, context: RequestContext): Promise<User | null> {
      const viewer = requireViewer(context);
      if (typeof reference.userID !== 'string') return null;
      return profiles.getProfile(viewer, reference.userID, loaderOf(context));
    },
  };
}
