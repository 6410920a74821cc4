import type { Viewer } from '../auth/viewer.js';
import type { AdminAudit } from '../admin/admin-audit.js';
import { checkUserIDList } from '../shared/input-rules.js';
import type { ProfileLoader } from '../user/user.loaders.js';
import type { ProfileCustomFieldView, UserView } from '../user/user.presenter.js';
import type { ProfileEventType } from '../events/profile-event.entity.js';
import type { UserProfileService } from '../user/user.service.js';
import type { AccountStateRegistry } from './account-state.registry.js';
import type { AccountStateRepository, HistoryEntry } from './account.repository.js';

/** Whether an account exists and is deactivated: what checkAccounts and (de|re)activateAccounts answer. */
export interface AccountCheckResult {
  readonly userID: string;
  readonly exists: boolean;
  readonly deactivated: boolean;
}

export interface AccountDeletion {
  readonly userID: string;
  readonly deleted: boolean;
}

export interface FieldChange {
  readonly field: string;
  readonly value: string | null;
}

export interface ProfileHistoryEntry {
  readonly eventID: string;
  readonly eventType: ProfileEventType;
  readonly eventTime: Date;
  readonly operator: string;
  readonly changes: FieldChange[];
}

/** Everything held about one user, as exportMyData answers it. */
export interface PersonalDataExport {
  readonly exportedAt: Date;
  readonly profile: UserView;
  readonly storedCustomFields: ProfileCustomFieldView[];
  readonly history: ProfileHistoryEntry[];
}

const asText = (value: unknown): string | null =>
  value === null || value === undefined ? null : typeof value === 'string' ? value : JSON.stringify(value);

function historyEntry(entry: HistoryEntry): ProfileHistoryEntry {
  const changes: FieldChange[] = [];
  for (const [field, value] of Object.entries(entry.changedFields)) changes.push({ field, value: asText(value) });
  for (const [field, value] of Object.entries(entry.changedCustomFields)) changes.push({ field, value: asText(value) });
  return {
    eventID: entry.eventID,
    eventType: entry.eventType,
    eventTime: entry.eventTime,
    operator: entry.operator,
    changes,
  };
}

/**
 * The account lifecycle: deactivation and reactivation (administrators), erasure (administrators,
 * or the owner for themselves) and the owner's export of their data. Each change is one statement
 * that also writes its outbox event; afterwards this instance re-reads its account states at once
 * (the others on the tables' NOTIFY), so the callers concerned are refused from then on.
 */
export class AccountLifecycleService {
  constructor(
    private readonly repository: AccountStateRepository,
    private readonly profiles: UserProfileService,
    private readonly audit: AdminAudit,
    private readonly states: AccountStateRegistry,
  ) {}

  async checkAccounts(viewer: Viewer, ids: readonly string[]): Promise<AccountCheckResult[]> {
    return this.audit.run(viewer, { operation: 'checkAccounts', subjects: ids, fields: [] }, async (scope) => {
      const distinct = checkUserIDList('ids', ids);
      const existing = distinct.length === 0 ? new Map() : await this.repository.within(scope).existingStates(distinct);
      return ids.map((userID) => ({
        userID,
        exists: existing.has(userID),
        deactivated: existing.get(userID)?.deactivated === true,
      }));
    });
  }

  async deactivateAccounts(viewer: Viewer, ids: readonly string[]): Promise<AccountCheckResult[]> {
    return this.setDeactivated(viewer, 'deactivateAccounts', ids, true);
  }

  async reactivateAccounts(viewer: Viewer, ids: readonly string[]): Promise<AccountCheckResult[]> {
    return this.setDeactivated(viewer, 'reactivateAccounts', ids, false);
  }

  async deleteAccounts(viewer: Viewer, ids: readonly string[]): Promise<AccountDeletion[]> {
    return this.audit.run(viewer, { operation: 'deleteAccounts', subjects: ids, fields: [] }, async (scope) => {
      const distinct = checkUserIDList('ids', ids);
      const erased =
        distinct.length === 0 ? new Set<string>() : await this.repository.within(scope).erase(distinct, viewer.userID);
      if (erased.size > 0) scope.afterCommit(() => this.states.refresh());
      return ids.map((userID) => ({ userID, deleted: erased.has(userID) }));
    });
  }

  /** Erases the caller's own account; false when there was none. */
  async deleteOwnAccount(viewer: Viewer): Promise<boolean> {
    const erased = await this.repository.erase([viewer.userID], viewer.userID);
    if (erased.size > 0) await this.states.refresh();
    return erased.size > 0;
  }

  async exportOwnData(viewer: Viewer, loader: ProfileLoader): Promise<PersonalDataExport> {
    const exportedAt = new Date();
    // Read fresh, not from the request's cache; created on first use, as `me` does.
    loader.clear(viewer.userID);
    const profile = await this.profiles.getOwnProfile(viewer, loader);
    const record = (await loader.load(viewer.userID))!;
    const storedCustomFields: ProfileCustomFieldView[] = Object.keys(record.customFields)
      .sort()
      .map((key) => ({ key, value: record.customFields[key] }));
    const history = await this.repository.history(viewer.userID);
    return { exportedAt, profile, storedCustomFields, history: history.map(historyEntry) };
  }

  private async setDeactivated(
    viewer: Viewer,
    operation: string,
    ids: readonly string[],
    deactivated: boolean,
  ): Promise<AccountCheckResult[]> {
    return this.audit.run(viewer, { operation, subjects: ids, fields: [] }, async (scope) => {
      const distinct = checkUserIDList('ids', ids);
      const rows =
        distinct.length === 0
          ? []
          : await this.repository.within(scope).setDeactivated(distinct, deactivated, viewer.userID);
      if (rows.some((row) => row.eventID !== null)) scope.afterCommit(() => this.states.refresh());
      const byID = new Map(rows.map((row) => [row.userID, row]));
      return ids.map((userID) => ({
        userID,
        exists: byID.has(userID),
        deactivated: byID.get(userID)?.deactivated === true,
      }));
    });
  }
}
