/**
 * The standard profile fields, each declared once: its column, its Postgres type (from its kind),
 * its GraphQL type and descriptions, its limits and rules, who may write it, and its Tencent Cloud
 * Chat names. Everything else follows from this table: the validation (user.rules.ts), the SQL
 * column lists, casts and row mapping (user.repository.ts), the entity (user-profile.entity.ts),
 * the User type and the update input (user.types.ts, user.inputs.ts), the presenter and the
 * client's mapping. The compiler refuses a declaration that lacks a part (`satisfies`).
 *
 * This module is plain data with no imports, so the client bundles it without the server.
 */

export enum Gender {
  UNKNOWN = 'UNKNOWN',
  FEMALE = 'FEMALE',
  MALE = 'MALE',
}

export enum AllowType {
  ALLOW_ANY = 'ALLOW_ANY',
  NEED_CONFIRM = 'NEED_CONFIRM',
  DENY_ANY = 'DENY_ANY',
}

export enum ForbidType {
  NONE = 'NONE',
  SEND_OUT = 'SEND_OUT',
}

/** What every field declares, whatever its kind. */
interface FieldBase {
  /** The snake_case column in `user_profile`. */
  readonly column: string;
  /** The description of the field on `User`. */
  readonly description: string;
  /** The description of the field on `UpdateMyProfileInput`. */
  readonly inputDescription: string;
  /** Who may write it: the owner (and administrators), or administrators only. */
  readonly write: 'OWNER' | 'ADMIN';
  /** Its Tag in Tencent Cloud Chat's REST API (`portrait_set`, `portrait_get`). */
  readonly tencentTag: string;
}

/**
 * The kinds a field can be. Each kind fixes the Postgres type, the GraphQL type, the stored
 * default and the checks; a new field of an existing kind needs nothing but its declaration.
 */
export type FieldSpec = FieldBase &
  (
    | {
        /** UTF-8 text, `""` when unset (GraphQL String, Postgres text). */
        readonly kind: 'text';
        readonly maxBytes: number;
        /** Newlines and tabs are allowed (other control characters never are). */
        readonly multiline?: true;
        /** `""` or an http(s) URL. */
        readonly url?: true;
        /** The byte limit is also a CHECK constraint on the column. */
        readonly checkedInDatabase?: true;
      }
    | {
        /** 0 to 4294967295, 0 when unset (GraphQL UInt32, Postgres bigint with a range CHECK). */
        readonly kind: 'uint32';
        /** 0, or a real date written YYYYMMDD with a year from 1000 to 9999. */
        readonly date?: true;
      }
    | {
        /** One of a few small numbers, the first when unset (GraphQL Int, Postgres smallint with a CHECK). */
        readonly kind: 'choice';
        readonly values: readonly number[];
        /** What each value means, for the messages and descriptions. */
        readonly meaning: string;
      }
    | {
        /** A value of an enum (GraphQL enum, Postgres enum type `enumName`). */
        readonly kind: 'enum';
        readonly values: Readonly<Record<string, string>>;
        readonly enumName: string;
        readonly default: string;
        /** Tencent's name for each value, by ours. */
        readonly tencentValues: Readonly<Record<string, string>>;
      }
  );

export const PROFILE_FIELDS = {
  nick: {
    kind: 'text',
    column: 'nick',
    maxBytes: 500,
    description: 'Nickname, at most 500 UTF-8 bytes; "" when unset.',
    inputDescription: 'Nickname, at most 500 UTF-8 bytes.',
    write: 'OWNER',
    tencentTag: 'Tag_Profile_IM_Nick',
  },
  avatar: {
    kind: 'text',
    column: 'avatar',
    maxBytes: 500,
    url: true,
    description: 'Avatar URL (http or https), at most 500 UTF-8 bytes; "" when unset.',
    inputDescription: 'An http(s) URL, or "" to clear; at most 500 UTF-8 bytes.',
    write: 'OWNER',
    tencentTag: 'Tag_Profile_IM_Image',
  },
  gender: {
    kind: 'enum',
    column: 'gender',
    values: Gender,
    enumName: 'profile_gender',
    default: Gender.UNKNOWN,
    tencentValues: { UNKNOWN: 'Gender_Type_Unknown', FEMALE: 'Gender_Type_Female', MALE: 'Gender_Type_Male' },
    description: 'Gender; UNKNOWN when unset.',
    inputDescription: 'Gender.',
    write: 'OWNER',
    tencentTag: 'Tag_Profile_IM_Gender',
  },
  selfSignature: {
    kind: 'text',
    column: 'self_signature',
    maxBytes: 500,
    multiline: true,
    description: 'Status line, at most 500 UTF-8 bytes; may contain newlines and tabs.',
    inputDescription: 'Status line, at most 500 UTF-8 bytes; newlines and tabs allowed.',
    write: 'OWNER',
    tencentTag: 'Tag_Profile_IM_SelfSignature',
  },
  allowType: {
    kind: 'enum',
    column: 'allow_type',
    values: AllowType,
    enumName: 'profile_allow_type',
    default: AllowType.NEED_CONFIRM,
    tencentValues: {
      ALLOW_ANY: 'AllowType_Type_AllowAny',
      NEED_CONFIRM: 'AllowType_Type_NeedConfirm',
      DENY_ANY: 'AllowType_Type_DenyAny',
    },
    description: 'How friend requests to this user are handled.',
    inputDescription: 'How friend requests to this user are handled.',
    write: 'OWNER',
    tencentTag: 'Tag_Profile_IM_AllowType',
  },
  birthday: {
    kind: 'uint32',
    column: 'birthday',
    date: true,
    description: 'Birthday written YYYYMMDD (e.g. 19900415), or 0 when unset.',
    inputDescription: '0, or a real date written YYYYMMDD (year 1000 to 9999).',
    write: 'OWNER',
    tencentTag: 'Tag_Profile_IM_BirthDay',
  },
  location: {
    kind: 'text',
    column: 'location',
    maxBytes: 16,
    checkedInDatabase: true,
    description: 'Location, at most 16 UTF-8 bytes; "" when unset.',
    inputDescription: 'Location, at most 16 UTF-8 bytes.',
    write: 'OWNER',
    tencentTag: 'Tag_Profile_IM_Location',
  },
  language: {
    kind: 'uint32',
    column: 'language',
    description: 'Language, as a number the app maps to a language; 0 when unset.',
    inputDescription: 'Language number.',
    write: 'OWNER',
    tencentTag: 'Tag_Profile_IM_Language',
  },
  messageSettings: {
    kind: 'choice',
    column: 'message_settings',
    values: [0, 1],
    meaning: '0 (receive) or 1 (block)',
    description: 'Message setting: 0 receives messages, 1 blocks them.',
    inputDescription: '0 (receive messages) or 1 (block them).',
    write: 'OWNER',
    tencentTag: 'Tag_Profile_IM_MsgSettings',
  },
  adminForbidType: {
    kind: 'enum',
    column: 'admin_forbid_type',
    values: ForbidType,
    enumName: 'profile_forbid_type',
    default: ForbidType.NONE,
    tencentValues: { NONE: 'AdminForbid_Type_None', SEND_OUT: 'AdminForbid_Type_SendOut' },
    description: 'Whether an administrator barred this user from sending friend requests.',
    inputDescription: 'Administrators only: bar the user from sending friend requests.',
    write: 'ADMIN',
    tencentTag: 'Tag_Profile_IM_AdminForbidType',
  },
  level: {
    kind: 'uint32',
    column: 'level',
    description: 'Level, as the app defines it; 0 when unset.',
    inputDescription: 'Level.',
    write: 'OWNER',
    tencentTag: 'Tag_Profile_IM_Level',
  },
  role: {
    kind: 'uint32',
    column: 'role',
    description: 'Role, as the app defines it; 0 when unset.',
    inputDescription: 'Role.',
    write: 'OWNER',
    tencentTag: 'Tag_Profile_IM_Role',
  },
} as const satisfies Record<string, FieldSpec>;

export type StandardField = keyof typeof PROFILE_FIELDS;

/** The fields in declaration order: the order of the SDL, the SQL column lists and the client's query. */
export const STANDARD_FIELDS = Object.keys(PROFILE_FIELDS) as StandardField[];

/** The TypeScript type of a field's value, from its kind. */
type ValueOf<S> = S extends { readonly kind: 'text' }
  ? string
  : S extends { readonly kind: 'enum'; readonly values: infer E }
    ? E[keyof E]
    : number;

/** A profile's standard values, one property per declared field. */
export type StandardValues = { -readonly [K in StandardField]: ValueOf<(typeof PROFILE_FIELDS)[K]> };

/** The Postgres type of a field's column (and of its parameters' casts). */
export function postgresTypeOf(spec: FieldSpec): string {
  switch (spec.kind) {
    case 'text':
      return 'text';
    case 'uint32':
      return 'bigint';
    case 'choice':
      return 'smallint';
    case 'enum':
      return spec.enumName;
  }
}

/** The value a new account starts with. */
export function defaultOf(spec: FieldSpec): string | number {
  switch (spec.kind) {
    case 'text':
      return '';
    case 'uint32':
      return 0;
    case 'choice':
      return spec.values[0];
    case 'enum':
      return spec.default;
  }
}

/** The field's spec, seen as the union every consumer switches on. */
export const specOf = (field: StandardField): FieldSpec => PROFILE_FIELDS[field];

/** Every standard field's value on a new account. */
export const DEFAULT_STANDARD_VALUES = Object.freeze(
  Object.fromEntries(STANDARD_FIELDS.map((field) => [field, defaultOf(PROFILE_FIELDS[field])])),
) as Readonly<StandardValues>;
