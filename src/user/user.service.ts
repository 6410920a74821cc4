import type { Viewer } from '../auth/viewer.js';
import type { TransactionScope } from '../db/transaction.js';
import type { CustomFieldCatalog } from '../custom-field/custom-field.model.js';
import { ErrorReason, ForbiddenError, UnauthenticatedError } from '../errors.js';
import { AccountStatus } from './user.enums.js';
import type { ProfileLoader } from './user.loaders.js';
import { audienceOf, presentProfile, presentRemovedAccount, ProfileAudience } from './user.presenter.js';
import type { ProfileRecord, UserProfileRepository } from './user.repository.js';
import { buildProfilePatch, type PatchPolicy, type ProfileUpdateInput } from './user.rules.js';
import { badInput, checkUserIDList, validateUserID } from '../shared/input-rules.js';
import type { UserView as User } from './user.presenter.js';

/** Owns the profile rules: account creation on first use, visibility, the user ID list rule, updates. */
export class UserProfileService {
  constructor(
    private readonly repository: UserProfileRepository,
    private readonly catalog: CustomFieldCatalog,
  ) {}

  async getOwnProfile(viewer: Viewer, loader: ProfileLoader): Promise<User> {
    const record = await this.loadOrCreate(viewer, loader);
    if (record.deactivatedAt !== null) throw accountDeactivated();
    return presentProfile(record, this.catalog, audienceOf(viewer, viewer.userID));
  }

  /** Profiles as `users(ids:)` shows them to this viewer: in the order asked, each once, unknown IDs left out. */
  async getProfiles(viewer: Viewer, ids: readonly string[], loader: ProfileLoader): Promise<User[]> {
    const distinct = checkUserIDList('ids', ids);
    // One promise per ID rather than loadMany's two (it catches each key's failure separately); the
    // batch fails or succeeds as a whole, so the first failure is the answer either way.
    const records = await Promise.all(distinct.map((userID) => loader.load(userID)));
    const users: User[] = [];
    for (const record of records) {
      if (record !== null && record.deactivatedAt === null) {
        users.push(presentProfile(record, this.catalog, audienceOf(viewer, record.userID)));
      }
    }
    return users;
  }

  /**
   * One profileUpdated delivery of `userID` (whose record is `record`, null once deleted) for
   * `audience`: the profile as users(ids:) shows it, or, for an account deactivated or deleted
   * since, its removal (see presentRemovedAccount); `deletedAt` gives the time of a deletion.
   */
  presentUpdate(record: ProfileRecord | null, userID: string, audience: ProfileAudience, deletedAt: () => Date): User {
    if (record === null) return presentRemovedAccount(userID, AccountStatus.DELETED, deletedAt());
    if (record.deactivatedAt !== null) {
      return presentRemovedAccount(record.userID, AccountStatus.DEACTIVATED, record.deactivatedAt);
    }
    return presentProfile(record, this.catalog, audience);
  }

  /**
   * One profile as `users(ids:)` shows it to this viewer, for federated entity references; null when
   * there is no such account (an ID that cannot exist included).
   */
  async getProfile(viewer: Viewer, userID: string, loader: ProfileLoader): Promise<User | null> {
    if (validateUserID(userID) !== undefined) return null;
    const record = await loader.load(userID);
    return record === null || record.deactivatedAt !== null
      ? null
      : presentProfile(record, this.catalog, audienceOf(viewer, record.userID));
  }

  /**
   * An administrator's read of any profile, private fields included; null when there is no such
   * account. On `scope`'s connection (the audited one), not through the request's loader.
   */
  async getProfileAsAdmin(userID: string, scope: TransactionScope): Promise<User | null> {
    const problem = validateUserID(userID);
    if (problem !== undefined) throw badInput('userID', problem);
    const [record] = await this.repository.within(scope).findByIds([userID]);
    return record === undefined ? null : presentProfile(record, this.catalog, ProfileAudience.ADMIN);
  }

  async updateOwnProfile(viewer: Viewer, input: ProfileUpdateInput, loader: ProfileLoader): Promise<User> {
    const patch = buildProfilePatch(input, this.patchPolicy(viewer.isAdmin));
    let result = await this.repository.applyPatch(viewer.userID, patch, viewer.userID);
    if (result === undefined) {
      if ((await this.repository.createIfMissing(viewer.userID, viewer.issuedAt)) === undefined) throw accountDeleted();
      result = await this.repository.applyPatch(viewer.userID, patch, viewer.userID);
      if (result === undefined) throw new Error(`account ${viewer.userID} vanished while being updated`);
    }
    loader.clear(viewer.userID).prime(viewer.userID, result.profile);
    return presentProfile(result.profile, this.catalog, audienceOf(viewer, viewer.userID));
  }

  /**
   * An administrator's update of any existing account: the same rules and the same single
   * statement as updateOwnProfile, with administrator rights; never creates the account. In
   * `scope`'s transaction when given (the audited one).
   */
  async updateProfileAsAdmin(
    admin: Viewer,
    userID: string,
    input: ProfileUpdateInput,
    loader: ProfileLoader,
    scope?: TransactionScope,
  ): Promise<User> {
    const problem = validateUserID(userID);
    if (problem !== undefined) throw badInput('userID', problem);
    const patch = buildProfilePatch(input, this.patchPolicy(true));
    const repository = scope === undefined ? this.repository : this.repository.within(scope);
    const result = await repository.applyPatch(userID, patch, admin.userID);
    if (result === undefined) {
      throw badInput('userID', ErrorReason.UNKNOWN_ACCOUNT, 'names no account; import it first');
    }
    loader.clear(userID).prime(userID, result.profile);
    return presentProfile(result.profile, this.catalog, ProfileAudience.ADMIN);
  }

  private patchPolicy(isAdmin: boolean): PatchPolicy {
    return { isAdmin, customField: (key) => this.catalog.get(key) };
  }

  private async loadOrCreate(viewer: Viewer, loader: ProfileLoader): Promise<ProfileRecord> {
    const { userID } = viewer;
    const found = await loader.load(userID);
    if (found !== null) return found;
    const created = await this.repository.createIfMissing(userID, viewer.issuedAt);
    if (created === undefined) throw accountDeleted();
    loader.clear(userID).prime(userID, created);
    return created;
  }
}

/** The owner of a deactivated account is refused whatever they call (see AccountStateRegistry). */
export const accountDeactivated = () =>
  new ForbiddenError(
    ErrorReason.ACCOUNT_DEACTIVATED,
    'This account is deactivated; an administrator may reactivate it',
  );

/** A token issued before its account was deleted (see AccountStateRegistry). */
export const accountDeleted = () =>
  new UnauthenticatedError(
    ErrorReason.ACCOUNT_DELETED,
    'The account of this token was deleted; a token issued after the deletion starts a new account',
  );
