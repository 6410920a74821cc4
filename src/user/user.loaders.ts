import DataLoader from 'dataloader';
import { contextSlot } from '../context-slot.js';
import type { ProfileRecord, UserProfileRepository } from './user.repository.js';

export type ProfileLoader = DataLoader<string, ProfileRecord | null>;

/** Made per request: every profile read in one request (me, users, entities) shares one batch and cache. */
export function createProfileLoader(
  repository: UserProfileRepository,
  observeBatch?: (size: number) => void,
): ProfileLoader {
  return new DataLoader<string, ProfileRecord | null>(async (userIDs) => {
    observeBatch?.(userIDs.length);
    const records = await repository.findByIds(userIDs);
    const byID = new Map(records.map((record) => [record.userID, record]));
    return userIDs.map((userID) => byID.get(userID) ?? null);
  });
}

/** The request's profile loader, made on first use and kept on the request's context. */
export type ProfileLoaderOf = (context: object) => ProfileLoader;

const loaderSlot = contextSlot<ProfileLoader>('profileLoader');

/**
 * `repositoryFor` gives the repository a request reads through: where its reads go may depend on
 * the request (after its caller's write, one that sees it; see src/db/read-your-writes.ts).
 */
export function createProfileLoaders(
  repositoryFor: (context: object) => UserProfileRepository,
  observeBatch?: (size: number) => void,
): ProfileLoaderOf {
  return (context) => {
    let loader = loaderSlot.of(context);
    if (loader === undefined) {
      loader = createProfileLoader(repositoryFor(context), observeBatch);
      loaderSlot.attach(context, loader);
    }
    return loader;
  };
}
