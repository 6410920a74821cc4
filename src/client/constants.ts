/** The string constants front ends written against Tencent Cloud Chat's web SDK already use. */
export const TYPES = Object.freeze({
  GENDER_UNKNOWN: 'Gender_Type_Unknown',
  GENDER_FEMALE: 'Gender_Type_Female',
  GENDER_MALE: 'Gender_Type_Male',
  ALLOW_TYPE_ALLOW_ANY: 'AllowType_Type_AllowAny',
  ALLOW_TYPE_NEED_CONFIRM: 'AllowType_Type_NeedConfirm',
  ALLOW_TYPE_DENY_ANY: 'AllowType_Type_DenyAny',
  FORBID_TYPE_NONE: 'AdminForbid_Type_None',
  FORBID_TYPE_SEND_OUT: 'AdminForbid_Type_SendOut',
} as const);

export const EVENT = Object.freeze({
  PROFILE_UPDATED: 'onProfileUpdated',
} as const);

export type ProfileEvent = (typeof EVENT)[keyof typeof EVENT];

/** Numeric error codes, the familiar ones where Tencent Cloud Chat has one. */
export const ERROR_CODE = Object.freeze({
  /** An argument failed validation (client-side or server-side). */
  INVALID_PARAMETER: 2721,
  /** updateMyProfile was given nothing to update. */
  NOTHING_TO_UPDATE: 2722,
  /** The server was not reached, or answered something that is not GraphQL. */
  NETWORK_ERROR: 2800,
  /** Too many requests; retry later. */
  OVER_FREQUENCY_LIMIT: 2996,
  /** The account does not exist. */
  ACCOUNT_NOT_FOUND: 40003,
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
  /** A value is not valid for its field. */
  INVALID_VALUE: 40605,
  /** The token is missing or not valid. */
  INVALID_TOKEN: 70003,
  /** The token has expired. */
  TOKEN_EXPIRED: 70001,
} as const);

export const GENDER_TO_API: Record<string, string> = {
  [TYPES.GENDER_UNKNOWN]: 'UNKNOWN',
  [TYPES.GENDER_FEMALE]: 'FEMALE',
  [TYPES.GENDER_MALE]: 'MALE',
};
export const ALLOW_TYPE_TO_API: Record<string, string> = {
  [TYPES.ALLOW_TYPE_ALLOW_ANY]: 'ALLOW_ANY',
  [TYPES.ALLOW_TYPE_NEED_CONFIRM]: 'NEED_CONFIRM',
  [TYPES.ALLOW_TYPE_DENY_ANY]: 'DENY_ANY',
};
export const FORBID_TYPE_TO_API: Record<string, string> = {
  [TYPES.FORBID_TYPE_NONE]: 'NONE',
  [TYPES.FORBID_TYPE_SEND_OUT]: 'SEND_OUT',
};

export const invert = (map: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(map).map(([constant, api]) => [api, constant]));
