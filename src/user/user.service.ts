import type { Viewer } from '../auth/viewer.js';
import type { CustomFieldCatalog } from './custom-field-catalog.js';
import type { ProfileLoader } from './user.loaders.js';
import { presentProfile } from './user.presenter.js';
import type { ProfileRecord, UserProfileRepository } from './user.repository.js';
import { badInput, buildProfilePatch, LIMITS, validateUserID, type ProfileUpdateInput } from './user.rules.js';
import type { User } from './user.types.js';

export interface ProfilesResult {
  readonly users: User[];
  /** Set when more than 100 distinct IDs were asked for and only the first 100 were used. */
  readonly truncatedFrom?: number;
}

/** Owns the profile rules: account creation on first use, visibility, the 100-ID cut, updates. */
export class UserProfileService {
  constructor(
    private readonly repository: UserProfileRepository,
    private readonly catalog: CustomFieldCatalog,
  ) {}

  async getOwnProfile(viewer: Viewer, loader: ProfileLoader): Promise<User> {
    return presentProfile(await this.loadOrCreate(viewer.userID, loader), this.catalog);
  }

  async getProfiles(ids: readonly string[], loader: ProfileLoader): Promise<ProfilesResult> {
    const distinct = [...new Set(ids)];
    const used = distinct.slice(0, LIMITS.userIDsPerRequest);
    used.forEach((userID) => {
      const problem = validateUserID(userID);
      if (problem !== undefined) throw badInput(`ids[${ids.indexOf(userID)}]`, problem);
    });
    const records = await loader.loadMany(used);
    const users: User[] = [];
    for (const record of records) {
      if (record instanceof Error) throw record;
      if (record !== null) users.push(presentProfile(record, this.catalog));
    }
    return distinct.length > used.length ? { users, truncatedFrom: distinct.length } : { users };
  }

  async updateOwnProfile(viewer: Viewer, input: ProfileUpdateInput, loader: ProfileLoader): Promise<User> {
    const patch = buildProfilePatch(input, {
      isAdmin: viewer.isAdmin,
      isDeclaredCustomField: (key) => this.catalog.isDeclared(key),
    });
    let result = await this.repository.applyPatch(viewer.userID, patch, viewer.userID);
    if (result === undefined) {
      await this.repository.createIfMissing(viewer.userID);
      result = await this.repository.applyPatch(viewer.userID, patch, viewer.userID);
      if (result === undefined) throw new Error(`account ${viewer.userID} vanished while being updated`);
    }
    loader.clear(viewer.userID).prime(viewer.userID, result.profile);
    return presentProfile(result.profile, this.catalog);
  }

  private async loadOrCreate(userID: string, loader: ProfileLoader): Promise<ProfileRecord> {
    const found = await loader.load(userID);
    if (found !== null) return found;
    const created = await this.repository.createIfMissing(userID);
    loader.clear(userID).prime(userID, created);
    return created;
  }
}
