/** The constants front ends written against Tencent Cloud Chat's web SDK already use. */
export const TYPES = Object.freeze({
  GENDER_UNKNOWN: 'Gender_Type_Unknown',
  GENDER_FEMALE: 'Gender_Type_Female',
  GENDER_MALE: 'Gender_Type_Male',
  ALLOW_TYPE_ALLOW_ANY: 'AllowType_Type_AllowAny',
  ALLOW_TYPE_NEED_CONFIRM: 'AllowType_Type_NeedConfirm',
  ALLOW_TYPE_DENY_ANY: 'AllowType_Type_DenyAny',
  FORBID_TYPE_NONE: 'AdminForbid_Type_None',
  FORBID_TYPE_SEND_OUT: 'AdminForbid_Type_SendOut',
  // A user status's statusType: numbers, as in the familiar SDK.
  USER_STATUS_UNKNOWN: 0,
  USER_STATUS_ONLINE: 1,
  USER_STATUS_OFFLINE: 2,
  USER_STATUS_UNLOGINED: 3,
} as const);

export const EVENT = Object.freeze({
  PROFILE_UPDATED: 'onProfileUpdated',
  USER_STATUS_UPDATED: 'onUserStatusUpdated',
} as const);

/** The name of an event the client reports (`on`, `off`). */
export type ProfileEvent = (typeof EVENT)[keyof typeof EVENT];

/** Numeric error codes, the familiar ones where Tencent Cloud Chat has one. */
export const ERROR_CODE = Object.freeze({
  /** An argument failed a check before sending, or the server refused it without a more precise code. */
  INVALID_PARAMETER: 2721,
  /** updateMyProfile was given only an empty profileCustomField, or the server found nothing to update. */
  NOTHING_TO_UPDATE: 2722,
  /** The server was not reached, or answered something that is not GraphQL. */
  NETWORK_ERROR: 2800,
  /** Too many requests; retry later. */
  OVER_FREQUENCY_LIMIT: 2996,
  /** The account does not exist; also a token whose account was deleted after it was issued. */
  ACCOUNT_NOT_FOUND: 40003,
  /** The caller's account is deactivated (this service's own code: an administrator may reactivate it). */
  ACCOUNT_DEACTIVATED: 40010,
  /** The operation needs administrator rights. */
  ADMIN_REQUIRED: 40004,
  /** Something failed on the server; retrying may help. */
  INTERNAL_ERROR: 40006,
  /** The caller may not write this field. */
  NO_WRITE_PERMISSION: 40008,
  /** The custom field key is not declared. */
  UNKNOWN_TAG: 40009,
  /** A value is longer than its limit. */
  VALUE_TOO_LONG: 40601,
  /** A value is not valid for its field, e.g. a number that is not a whole number from 0 to 4294967295. */
  INVALID_VALUE: 40605,
  /** The token is missing or not valid. */
  INVALID_TOKEN: 70003,
  /** The token has expired. */
  TOKEN_EXPIRED: 70001,
} as const);

/** A familiar constant and the API's enum value for it, for one enum field. */
export interface EnumMapping {
  readonly toApi: ReadonlyMap<string, string>;
  readonly fromApi: ReadonlyMap<string, string>;
}

// Maps, not plain objects: a lookup of 'constructor' or '__proto__' finds nothing.
export function enumMapping(pairs: ReadonlyArray<readonly [constant: string, api: string]>): EnumMapping {
  return {
    toApi: new Map(pairs),
    fromApi: new Map(pairs.map(([constant, api]) => [api, constant])),
  };
}
