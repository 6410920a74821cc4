import type { Viewer } from '../auth/viewer.js';
import { CustomFieldRead } from '../custom-field/custom-field.enums.js';
import type { CustomFieldCatalog } from '../custom-field/custom-field.model.js';
import { DEFAULT_STANDARD_VALUES, STANDARD_FIELDS } from './profile-fields.js';
import type { StandardValues } from './profile-fields.js';
import { AccountStatus } from './user.enums.js';
import type { ProfileRecord } from './user.repository.js';

export interface ProfileCustomFieldView {
  readonly key: string;
  readonly value: string;
}

/** A profile as one audience sees it: what services return and the GraphQL `User` type shows. */
export interface UserView extends StandardValues {
  readonly userID: string;
  readonly profileCustomField: ProfileCustomFieldView[];
  readonly lastUpdatedTime: Date;
  readonly accountStatus: AccountStatus;
}

/** Who reads a profile, which decides the custom fields they see. */
export enum ProfileAudience {
  /** The profile's own user: PUBLIC and PRIVATE fields. */
  OWNER = 'OWNER',
  /** An administrator: every field in use. */
  ADMIN = 'ADMIN',
  /** Anyone else: PUBLIC fields only. */
  OTHER = 'OTHER',
}

export function audienceOf(viewer: Viewer, userID: string): ProfileAudience {
  if (viewer.isAdmin) return ProfileAudience.ADMIN;
  return viewer.userID === userID ? ProfileAudience.OWNER : ProfileAudience.OTHER;
}

/**
 * The API view of a stored profile: the custom fields the registry defines, is not retiring and
 * lets this audience read, ordered by key.
 */
export function presentProfile(
  record: ProfileRecord,
  catalog: CustomFieldCatalog,
  audience: ProfileAudience,
): UserView {
  const profileCustomField: ProfileCustomFieldView[] = [];
  for (const key in record.customFields) {
    const definition = catalog.get(key);
    if (definition === undefined || definition.retired) continue;
    if (definition.read === CustomFieldRead.PRIVATE && audience === ProfileAudience.OTHER) continue;
    profileCustomField.push({ key, value: record.customFields[key] });
  }
  sortByKey(profileCustomField);
  return toUser(record, profileCustomField);
}

/**
 * The User for a record and its visible custom fields: one object literal built once from the
 * field table (profile-fields.ts), so a new field is presented without touching this file and
 * every User has the same shape.
 */
const toUser = new Function(
  'record',
  'profileCustomField',
  `return { userID: record.userID, ${STANDARD_FIELDS.map((field) => `${field}: record.${field}`).join(', ')}, ` +
    'profileCustomField, lastUpdatedTime: record.lastUpdatedTime, ' +
    `accountStatus: record.deactivatedAt === null ? '${AccountStatus.ACTIVE}' : '${AccountStatus.DEACTIVATED}' };`,
) as (record: ProfileRecord, profileCustomField: ProfileCustomFieldView[]) => UserView;

/**
 * What profileUpdated delivers for an account that was deactivated or deleted: its ID and status,
 * every other field at its default, and when it happened. Nothing of its data is shown.
 */
export function presentRemovedAccount(
  userID: string,
  status: AccountStatus.DEACTIVATED | AccountStatus.DELETED,
  at: Date,
): UserView {
  return { userID, ...DEFAULT_STANDARD_VALUES, profileCustomField: [], lastUpdatedTime: at, accountStatus: status };
}

/**
 * Orders a profile's few custom fields by key (as `Array.prototype.sort` would, by UTF-16 code
 * units) in place: an insertion sort allocates nothing, where sorting a fresh key array per
 * profile was a noticeable share of a 100-profile read's garbage.
 */
function sortByKey(fields: ProfileCustomFieldView[]): void {
  for (let i = 1; i < fields.length; i += 1) {
    const field = fields[i];
    let j = i - 1;
    while (j >= 0 && fields[j].key > field.key) {
      fields[j + 1] = fields[j];
      j -= 1;
    }
    fields[j + 1] = field;
  }
}
