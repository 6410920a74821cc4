import { GraphQLError } from 'graphql';
import type { Viewer } from '../auth/viewer.js';
import { ErrorCode, ErrorReason, BadUserInputError } from '../errors.js';
import type { ProfileLoader } from '../user/user.loaders.js';
import { presentProfile, ProfileAudience } from '../user/user.presenter.js';
import type { AccountImport, UserProfileRepository } from '../user/user.repository.js';
import { buildProfilePatch, STANDARD_FIELDS, type ProfileUpdateInput } from '../user/user.rules.js';
import { badInput, checkUserIDList } from '../shared/input-rules.js';
import type { UserProfileService } from '../user/user.service.js';
import type { UserView as User } from '../user/user.presenter.js';
import type { CustomFieldCatalog } from '../custom-field/custom-field.model.js';
import type { AdminAudit } from './admin-audit.js';

export interface AccountInput {
  userID: string;
  nick?: string | null;
  avatar?: string | null;
}

/** Re-raises a rule's input error under the path of the item it came from. */
function within(prefix: string, error: unknown): unknown {
  if (error instanceof GraphQLError && error.extensions.code === ErrorCode.BAD_USER_INPUT) {
    const field = `${prefix}.${String(error.extensions.field)}`;
    return new BadUserInputError(field, error.extensions.reason as ErrorReason, `${prefix}.${error.message}`);
  }
  return error;
}

function updatedFields(input: ProfileUpdateInput): string[] {
  const fields: string[] = STANDARD_FIELDS.filter((field) => input[field] !== undefined);
  for (const entry of input.profileCustomField ?? []) fields.push(entry.key);
  return fields;
}

/** Account administration (Tencent's account_import, account_check, portrait_get/set): administrators only, audited. */
export class AccountAdminService {
  constructor(
    private readonly repository: UserProfileRepository,
    private readonly profiles: UserProfileService,
    private readonly catalog: CustomFieldCatalog,
    private readonly audit: AdminAudit,
  ) {}

  async getProfile(viewer: Viewer, userID: string): Promise<User | null> {
    return this.audit.run(viewer, { operation: 'userProfile', subjects: [userID], fields: [] }, (scope) =>
      this.profiles.getProfileAsAdmin(userID, scope),
    );
  }

  async setProfile(viewer: Viewer, userID: string, input: ProfileUpdateInput, loader: ProfileLoader): Promise<User> {
    const action = { operation: 'setUserProfile', subjects: [userID], fields: updatedFields(input) };
    return this.audit.run(viewer, action, (scope) =>
      this.profiles.updateProfileAsAdmin(viewer, userID, input, loader, scope),
    );
  }

  async importAccounts(viewer: Viewer, accounts: readonly AccountInput[], loader: ProfileLoader): Promise<User[]> {
    const fields = (['nick', 'avatar'] as const).filter((field) => accounts.some((a) => a[field] !== undefined));
    const action = { operation: 'importAccounts', subjects: accounts.map((a) => a.userID), fields };
    return this.audit.run(viewer, action, async (scope) => {
      checkUserIDList(
        'accounts',
        accounts.map((account) => account.userID),
        (index) => `accounts[${index}].userID`,
      );
      const seen = new Set<string>();
      const imports = accounts.map((account, index) => this.validateImport(account, index, seen));
      const records = await this.repository.within(scope).importAccounts(imports, viewer.userID);
      return records.map((record) => {
        loader.clear(record.userID).prime(record.userID, record);
        return presentProfile(record, this.catalog, ProfileAudience.ADMIN);
      });
    });
  }

  private validateImport(account: AccountInput, index: number, seen: Set<string>): AccountImport {
    const at = `accounts[${index}]`;
    if (seen.has(account.userID)) throw badInput(`${at}.userID`, ErrorReason.DUPLICATE_KEY, 'names an account twice');
    seen.add(account.userID);
    const { nick, avatar } = account;
    if (nick === undefined && avatar === undefined) return { userID: account.userID };
    try {
      // The same rules as a profile update, so an import can never store what an update would refuse.
      buildProfilePatch({ nick, avatar }, { isAdmin: true, customField: () => undefined });
    } catch (error) {
      throw within(at, error);
    }
    return { userID: account.userID, nick: nick ?? undefined, avatar: avatar ?? undefined };
  }
}
