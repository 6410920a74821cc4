import { requireViewer, type Context } from '../context.js';
import { audienceOf, presentProfile } from './user.presenter.js';
import { validateUserID } from './user.rules.js';
import type { User } from './user.types.js';

/**
 * Resolves `User` representations for the federated gateway through the request's profile
 * loader, so any number of representations costs one statement. Unknown IDs resolve to null.
 */
export const userReferenceResolver = {
  async __resolveReference(reference: { userID: string }, context: Context): Promise<User | null> {
    const viewer = requireViewer(context);
    if (typeof reference.userID !== 'string' || validateUserID(reference.userID) !== undefined) return null;
    const record = await context.loaders.profile.load(reference.userID);
    return record === null
      ? null
      : presentProfile(record, context.services.customFieldCatalog, audienceOf(viewer, record.userID));
  },
};
