import { requireViewer, type Context } from '../context.js';
import type { User } from './user.types.js';

/**
 * Resolves `User` representations for the federated gateway through the request's profile
 * loader, so any number of representations costs one statement. Unknown IDs resolve to null.
 */
export const userReferenceResolver = {
  async __resolveReference(reference: { userID: string }, context: Context): Promise<User | null> {
    const viewer = requireViewer(context);
    if (typeof reference.userID !== 'string') return null;
    return context.services.profileService.getProfile(viewer, reference.userID, context.loaders.profile);
  },
};
