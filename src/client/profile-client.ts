import { createClient as createWebSocketClient, type Client as WebSocketClient } from 'graphql-ws/client';
import { PROFILE_FIELDS, STANDARD_FIELDS, type FieldSpec, type StandardField } from '../user/profile-fields.js';
import { enumMapping, ERROR_CODE, EVENT, TYPES, type EnumMapping, type ProfileEvent } from './constants.js';
import { invalidParameter, ProfileClientError, toClientError, type GraphQLErrorShape } from './errors.js';

/** The client's type of a standard field's value: Tencent's strings for enums, else the server's. */
type ClientValue<S> = S extends { readonly kind: 'text' | 'enum' } ? string : number;

/** A profile in the shape front ends written against Tencent Cloud Chat's web SDK expect. */
export type Profile = { userID: string } & { [K in StandardField]: ClientValue<(typeof PROFILE_FIELDS)[K]> } & {
  /** Server time of the last change, in milliseconds since the epoch. */
  lastUpdatedTime: number;
  profileCustomField: Array<{ key: string; value: string }>;
};

export type UpdateMyProfileOptions = Partial<Omit<Profile, 'userID' | 'lastUpdatedTime'>>;

/** What every call resolves with, as in the familiar SDK: `code` is always 0 (failures reject). */
export interface ProfileClientResponse<T> {
  code: 0;
  data: T;
}

export interface ProfileUpdatedEvent {
  name: typeof EVENT.PROFILE_UPDATED;
  data: Profile[];
}

/** A `TYPES.USER_STATUS_*` number. */
export type UserStatusType = (typeof TYPES)[
  'USER_STATUS_UNKNOWN' | 'USER_STATUS_ONLINE' | 'USER_STATUS_OFFLINE' | 'USER_STATUS_UNLOGINED'];

/** A user's status in the shape of the familiar SDK. */
export interface UserStatus {
  userID: string;
  /** ONLINE while the user holds a live connection, OFFLINE after, UNLOGINED if they never connected, UNKNOWN without an account (or with a deactivated one). */
  statusType: UserStatusType;
  /** What the user set with setSelfStatus; '' for none. */
  customStatus: string;
}

export interface UserStatusUpdatedEvent {
  name: typeof EVENT.USER_STATUS_UPDATED;
  data: UserStatus[];
}

/** A user a status call could not serve, in the shape of the familiar SDK. */
export interface UserStatusFailure {
  userID: string;
  code: number;
  message: string;
}

export interface GetUserStatusResult {
  successUserList: UserStatus[];
  failureUserList: UserStatusFailure[];
}

export interface ProfileClientOptions {
  /** The server's GraphQL URL, e.g. `https://profiles.example.com/graphql`. */
  url: string;
  /** Returns the current bearer token; called again after the server answers UNAUTHENTICATED. */
  getToken: () => string | Promise<string>;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Defaults to `url` with ws:// or wss://. */
  webSocketUrl?: string;
  /** A WebSocket class; defaults to the global one (in Node without one, the `ws` package). */
  webSocketImpl?: unknown;
  /** Where warnings go (e.g. the 100-ID cut); defaults to console. */
  logger?: { warn(message: string): void };
}

/** One event of the change history the server keeps, as exportMyData lists it. */
export interface ProfileHistoryEntry {
  eventID: string;
  eventType: 'PROFILE_UPDATED' | 'ACCOUNT_DELETED' | 'ACCOUNT_DEACTIVATED' | 'ACCOUNT_REACTIVATED';
  /** In milliseconds since the epoch. */
  eventTime: number;
  operator: string;
  /** The new values as text (numbers in decimal, enums by the API's names); null when a custom value was removed. */
  changes: Array<{ field: string; value: string | null }>;
}

/** Everything the server holds about the caller. */
export interface PersonalData {
  /** In milliseconds since the epoch. */
  exportedAt: number;
  profile: Profile;
  /** Every custom value stored, those of fields retired since included. */
  storedCustomFields: Array<{ key: string; value: string }>;
  history: ProfileHistoryEntry[];
}

/** searchCloudUsers' options, with the names and values of Tencent Cloud Chat's web SDK. */
export interface SearchCloudUsersOptions {
  /** 1 to 5 keywords: a user ID exactly, or part of a nickname. */
  keywordList: string[];
  /** 'or' (the default): a user matches one keyword; 'and': every keyword. */
  keywordListMatchType?: 'or' | 'and';
  /** A `TYPES.GENDER_*` value, or a list of them. */
  userGenderType?: string | string[];
  /** The same as userGenderType: the SDK's own checks read this name. */
  gender?: string | string[];
  /** Born on or after, YYYYMMDD; alone, no upper bound. */
  miniBirthday?: number;
  /** Born on or before, YYYYMMDD. */
  maxBirthday?: number;
  /** Users per page, 1 to 100; 20 when absent. */
  count?: number;
  /** The previous answer's cursor; absent or '' for the first page. */
  cursor?: string;
}

export interface SearchCloudUsersResult {
  searchResultList: Profile[];
  /** For the next page; '' on the last one. */
  cursor: string;
}

export interface ProfileClient {
  getMyProfile(): Promise<ProfileClientResponse<Profile>>;
  getUserProfile(options: { userIDList: string[] }): Promise<ProfileClientResponse<Profile[]>>;
  updateMyProfile(options: UpdateMyProfileOptions): Promise<ProfileClientResponse<Profile>>;
  /** Finds users by user ID and nickname (searchUsers), a page at a time. */
  searchCloudUsers(options: SearchCloudUsersOptions): Promise<ProfileClientResponse<SearchCloudUsersResult>>;
  /** Erases the caller's account; `deleted` is false when there was none. Tokens issued until then stop working. */
  deleteMyAccount(): Promise<ProfileClientResponse<{ deleted: boolean }>>;
  /** Everything the server holds about the caller. */
  exportMyData(): Promise<ProfileClientResponse<PersonalData>>;
  /** Sets the caller's custom status (at most 100 UTF-8 bytes; '' clears it); resolves their status. */
  setSelfStatus(options: { customStatus: string }): Promise<ProfileClientResponse<UserStatus>>;
  /** The statuses of the first 500 IDs, in the order asked (repeats once); a user without an account is USER_STATUS_UNKNOWN. */
  getUserStatus(options: { userIDList: string[] }): Promise<ProfileClientResponse<GetUserStatusResult>>;
  /** Adds the first 100 IDs to the users whose status changes USER_STATUS_UPDATED reports. */
  subscribeUserStatus(options: {
    userIDList: string[];
  }): Promise<ProfileClientResponse<{ failureUserList: UserStatusFailure[] }>>;
  /** Removes users from those subscribed; without a userIDList, or with an empty one, every user. */
  unsubscribeUserStatus(options?: {
    userIDList?: string[];
  }): Promise<ProfileClientResponse<{ failureUserList: UserStatusFailure[] }>>;
  /** PROFILE_UPDATED handlers receive an array of changed profiles, for the caller and every watched user. */
  on(event: typeof EVENT.PROFILE_UPDATED, handler: (event: ProfileUpdatedEvent) => void): void;
  /** USER_STATUS_UPDATED handlers receive the changed statuses of subscribed users. */
  on(event: typeof EVENT.USER_STATUS_UPDATED, handler: (event: UserStatusUpdatedEvent) => void): void;
  off(event: typeof EVENT.PROFILE_UPDATED, handler: (event: ProfileUpdatedEvent) => void): void;
  off(event: typeof EVENT.USER_STATUS_UPDATED, handler: (event: UserStatusUpdatedEvent) => void): void;
  /** Adds users whose profile changes PROFILE_UPDATED reports (the caller is always included). */
  watchProfiles(userIDList: string[]): void;
  unwatchProfiles(userIDList: string[]): void;
  /** Closes the live connection, if one is open, and ends the status subscriptions. */
  close(): Promise<void>;
}

const MAX_USER_IDS = 100;
/** The familiar SDK's cuts, which are also the server's limits: userStatuses and userStatusUpdated. */
const MAX_STATUS_READ_IDS = 500;
const MAX_STATUS_SUBSCRIPTION_IDS = 100;

/**
 * After the server refuses the profile subscription as unavailable (its database down or
 * overloaded, as during a reconnect storm), the client subscribes again after this long, doubling
 * up to RESUBSCRIBE_MAX_MS, from its newest cursor.
 */
const RESUBSCRIBE_FIRST_MS = 1000;
const RESUBSCRIBE_MAX_MS = 30_000;

/** Whether a subscription's error is the server saying "not now" (worth asking again), not "no". */
function isUnavailable(error: unknown): boolean {
  return (
    Array.isArray(error) &&
    error.some(
      (item) => (item as { extensions?: { code?: unknown } } | null)?.extensions?.code === 'SERVICE_UNAVAILABLE',
    )
  );
}

/** What every read selects: the standard fields of the server's table, in its order. */
const PROFILE_SELECTION = ['userID', ...STANDARD_FIELDS, 'lastUpdatedTime', 'profileCustomField { key value }'].join(
  ' ',
);

type FieldRule =
  | { kind: 'string' }
  | { kind: 'number' }
  | { kind: 'choice'; values: readonly number[] }
  | { kind: 'enum'; mapping: EnumMapping }
  | { kind: 'customFields' };

/** Tencent's constant for each of our enum values, as the field table names them. */
function mappingOf(spec: FieldSpec & { kind: 'enum' }): EnumMapping {
  return enumMapping(Object.entries(spec.tencentValues).map(([api, constant]) => [constant, api] as const));
}

/** How a declared field is checked before sending, from its kind. */
function ruleOf(spec: FieldSpec): FieldRule {
  switch (spec.kind) {
    case 'text':
      return { kind: 'string' };
    case 'uint32':
      return { kind: 'number' };
    case 'choice':
      return { kind: 'choice', values: spec.values };
    case 'enum':
      return { kind: 'enum', mapping: mappingOf(spec) };
  }
}

/** The fields updateMyProfile takes and how each is checked before sending; a Map, so only these keys match. */
const UPDATE_RULES: ReadonlyMap<string, FieldRule> = new Map<string, FieldRule>([
  ...STANDARD_FIELDS.map((field) => [field, ruleOf(PROFILE_FIELDS[field])] as const),
  ['profileCustomField', { kind: 'customFields' }],
]);

/** The enum fields, mapped back from the API's values to Tencent's constants on every read. */
const ENUM_FIELDS = STANDARD_FIELDS.flatMap((field) => {
  const rule = UPDATE_RULES.get(field);
  return rule?.kind === 'enum' ? [[field, rule.mapping] as const] : [];
});

type ApiProfile = Omit<Profile, 'lastUpdatedTime'> & { lastUpdatedTime: string };

/** exportMyData as the API answers it. */
interface ApiPersonalData {
  exportedAt: string;
  profile: ApiProfile;
  storedCustomFields: Array<{ key: string; value: string }>;
  history: Array<Omit<ProfileHistoryEntry, 'eventTime'> & { eventTime: string }>;
}

function fromApi(profile: ApiProfile): Profile {
  const mapped: Profile = {
    ...profile,
    lastUpdatedTime: Date.parse(profile.lastUpdatedTime),
    profileCustomField: profile.profileCustomField.map(({ key, value }) => ({ key, value })),
  };
  const values = mapped as Record<string, unknown>;
  for (const [field, mapping] of ENUM_FIELDS) {
    const api = String(values[field]);
    values[field] = mapping.fromApi.get(api) ?? api;
  }
  return mapped;
}

function checked(key: string, value: unknown, rule: FieldRule): unknown {
  switch (rule.kind) {
    case 'string':
      if (typeof value !== 'string') throw invalidParameter(`${key} must be a string`);
      return value;
    case 'number':
      // As in the familiar SDK, any number is sent: the server refuses one that is not a whole number
      // from 0 to 4294967295 (40605). NaN and Infinity are refused here: JSON cannot carry them.
      if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidParameter(`${key} must be a number`);
      return value;
    case 'choice':
      if (typeof value !== 'number' || !rule.values.includes(value)) {
        throw invalidParameter(`${key} must be ${rule.values.join(' or ')}`);
      }
      return value;
    case 'enum': {
      const mapped = typeof value === 'string' ? rule.mapping.toApi.get(value) : undefined;
      if (mapped === undefined)
        throw invalidParameter(`${key} must be one of ${[...rule.mapping.toApi.keys()].join(', ')}`);
      return mapped;
    }
    case 'customFields':
      if (!Array.isArray(value)) throw invalidParameter(`${key} must be an array of { key, value }`);
      return value.map((item: unknown, index) => {
        const entry = item as { key?: unknown; value?: unknown } | null;
        if (typeof entry?.key !== 'string' || !entry.key.includes('Tag_Profile_Custom')) {
          throw invalidParameter(`${key}[${index}].key must be a Tag_Profile_Custom_ key`);
        }
        if (typeof entry.value !== 'string') throw invalidParameter(`${key}[${index}].value must be a string`);
        return { key: entry.key, value: entry.value };
      });
    default: {
      const unknownRule: never = rule;
      throw new Error(`unhandled rule ${JSON.stringify(unknownRule)}`);
    }
  }
}

const MAX_SEARCH_KEYWORDS = 5;
const MAX_SEARCH_COUNT = 100;
const MATCH_TYPES: ReadonlyMap<unknown, string> = new Map([
  ['or', 'ANY'],
  ['and', 'ALL'],
]);

/** searchCloudUsers' options checked as the familiar SDK checks them, as searchUsers' input. */
function toSearchInput(options: unknown): Record<string, unknown> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw invalidParameter('searchCloudUsers expects an object of options');
  }
  const given = options as Record<string, unknown>;
  const { keywordList, keywordListMatchType, miniBirthday, maxBirthday, count, cursor } = given;
  if (
    !Array.isArray(keywordList) ||
    keywordList.length === 0 ||
    keywordList.length > MAX_SEARCH_KEYWORDS ||
    keywordList.some((keyword) => typeof keyword !== 'string')
  ) {
    throw invalidParameter(`keywordList must be 1 to ${MAX_SEARCH_KEYWORDS} strings`);
  }
  const input: Record<string, unknown> = { keywords: keywordList };
  if (keywordListMatchType !== undefined) {
    const match = MATCH_TYPES.get(keywordListMatchType);
    if (match === undefined) throw invalidParameter("keywordListMatchType must be 'or' or 'and'");
    input.match = match;
  }
  const genders = given.userGenderType ?? given.gender;
  if (genders !== undefined) {
    const mapping = (UPDATE_RULES.get('gender') as FieldRule & { kind: 'enum' }).mapping;
    input.genders = (Array.isArray(genders) ? genders : [genders]).map((gender: unknown) => {
      const api = typeof gender === 'string' ? mapping.toApi.get(gender) : undefined;
      if (api === undefined)
        throw invalidParameter(`userGenderType must be one of ${[...mapping.toApi.keys()].join(', ')}`);
      return api;
    });
  }
  for (const [name, value, field] of [
    ['miniBirthday', miniBirthday, 'minBirthday'],
    ['maxBirthday', maxBirthday, 'maxBirthday'],
  ] as const) {
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidParameter(`${name} must be a number`);
    input[field] = value;
  }
  if (count !== undefined) {
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > MAX_SEARCH_COUNT) {
      throw invalidParameter(`count must be a whole number from 1 to ${MAX_SEARCH_COUNT}`);
    }
    input.first = count;
  }
  if (cursor !== undefined && typeof cursor !== 'string') throw invalidParameter('cursor must be a string');
  if (cursor !== undefined && cursor !== '') input.after = cursor;
  return input;
}

/** Checks like the familiar SDK does before sending, and maps constants to the API's enums. */
function toApiInput(options: unknown): Record<string, unknown> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw invalidParameter('updateMyProfile expects an object of fields to update');
  }
  const entries = Object.entries(options);
  if (entries.length === 0) throw invalidParameter('updateMyProfile was given no fields');
  const input: Record<string, unknown> = {};
  let items = 0;
  for (const [key, value] of entries) {
    const rule = UPDATE_RULES.get(key);
    if (rule === undefined) throw invalidParameter(`${key} is not a profile field`);
    if (value === undefined || value === null) throw invalidParameter(`${key} has no value`);
    const apiValue = checked(key, value, rule);
    items += Array.isArray(apiValue) ? apiValue.length : 1;
    input[key] = apiValue;
  }
  if (items === 0) {
    throw new ProfileClientError(ERROR_CODE.NOTHING_TO_UPDATE, 'updateMyProfile was given nothing to update', {
      code: 'BAD_USER_INPUT',
      reason: 'EMPTY_UPDATE',
    });
  }
  return input;
}

/** A status as the API answers it: its enum's names for statusType. */
interface ApiUserStatus {
  userID: string;
  statusType: string;
  customStatus: string;
}

const STATUS_SELECTION = 'userID statusType customStatus';

const STATUS_TYPES: ReadonlyMap<string, UserStatusType> = new Map([
  ['UNKNOWN', TYPES.USER_STATUS_UNKNOWN],
  ['ONLINE', TYPES.USER_STATUS_ONLINE],
  ['OFFLINE', TYPES.USER_STATUS_OFFLINE],
  ['UNLOGINED', TYPES.USER_STATUS_UNLOGINED],
]);

function statusFromApi(status: ApiUserStatus): UserStatus {
  return {
    userID: status.userID,
    statusType: STATUS_TYPES.get(status.statusType) ?? TYPES.USER_STATUS_UNKNOWN,
    customStatus: status.customStatus,
  };
}

/** Two statuses a handler would tell apart. */
const statusKey = (status: UserStatus): string => `${status.statusType}\u0000${status.customStatus}`;

/**
 * A status call's userIDList, checked as getUserProfile checks its own but never empty, and cut to
 * `max` with a warning as the familiar SDK cuts it. Invalid IDs are left to the server, which
 * refuses the call naming the first of them, as it does for getUserProfile.
 */
function statusIDList(call: string, request: unknown, max: number, logger: { warn(message: string): void }): string[] {
  const userIDList = (request as { userIDList?: unknown } | null | undefined)?.userIDList;
  if (!Array.isArray(userIDList)) throw invalidParameter(`${call} expects { userIDList: string[] }`);
  if (userIDList.some((id) => typeof id !== 'string')) throw invalidParameter('userIDList must contain strings');
  if (userIDList.length === 0) throw invalidParameter(`${call}: userIDList is empty`);
  if (userIDList.length > max) {
    logger.warn(`${call}: ${userIDList.length} user IDs given; only the first ${max} are used`);
    return userIDList.slice(0, max) as string[];
  }
  return userIDList as string[];
}

/** Up to 100 subscribed users and the graphql-ws subscription that watches them. */
interface StatusGroup {
  readonly userIDs: Set<string>;
  stop?: () => void;
}

/** The `sub` of a JWT, read without verifying it (the server verifies). */
function tokenSubject(token: string): string | undefined {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return (JSON.parse(atob(payload.padEnd(Math.ceil(payload.length / 4) * 4, '='))) as { sub?: string }).sub;
  } catch {
    return undefined;
  }
}

const ok = <T>(data: T): ProfileClientResponse<T> => ({ code: 0, data });

/** The header the server hands a write's position back in, and reads it from (see docs/scaling.md). */
const READ_AFTER_HEADER = 'x-read-after';

/** The later of two WAL positions (`16/B374D848`: two hexadecimal halves); a malformed one is ignored. */
function newerPosition(current: string | undefined, received: string | undefined): string | undefined {
  const parse = (text: string | undefined) => {
    const match = text === undefined ? null : /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
    return match === null ? undefined : [parseInt(match[1], 16), parseInt(match[2], 16)];
  };
  const next = parse(received);
  if (next === undefined) return current;
  const known = parse(current);
  if (known === undefined || next[0] > known[0] || (next[0] === known[0] && next[1] > known[1])) return received;
  return current;
}

/**
 * The client, for a runtime: `findWebSocket` supplies a WebSocket class when neither the options nor
 * the global scope have one.
 */
export function createClient(options: ProfileClientOptions, findWebSocket: () => Promise<unknown>): ProfileClient {
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const logger = options.logger ?? console;
  const handlers = new Set<(event: ProfileUpdatedEvent) => void>();
  const watched = new Set<string>();
  let socket: WebSocketClient | undefined;
  let stopSubscription: (() => void) | undefined;
  // Subscription changes run one after another, so a later watch never races an earlier one.
  let subscriptionChange: Promise<void> = Promise.resolve();
  /** The newest cursor received: a replaced subscription resumes from it too. */
  let since: string | undefined;
  /** Refusals as unavailable in a row, for the wait before subscribing again. */
  let unavailableInARow = 0;

  const statusHandlers = new Set<(event: UserStatusUpdatedEvent) => void>();
  /**
   * The subscribed users, in groups of at most 100 (the server's limit for one subscription), each
   * watched by a subscription of its own: a change to the set replaces only the groups it touched.
   */
  const statusGroups: StatusGroup[] = [];
  /**
   * Per subscribed user, the status last reported or read and when (a count that only grows): a
   * status arriving again (the catch-up on connecting reads what a subscription may already have
   * delivered) is not reported, and the catch-up never reports a status older than one received meanwhile.
   */
  const knownStatuses = new Map<string, { key: string; version: number }>();
  let statusVersion = 0;

  // Read-your-writes: the newest write position a response handed back, sent with every request
  // after it, so the caller's reads never see a state older than their own writes, on any instance.
  let readAfter: string | undefined;

  async function execute<T>(query: string, variables: Record<string, unknown>, retried = false): Promise<T> {
    const token = await options.getToken();
    let response: Response;
    let body: { data?: T | null; errors?: GraphQLErrorShape[] };
    try {
      response = await doFetch(options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${token}`,
          ...(readAfter === undefined ? {} : { [READ_AFTER_HEADER]: readAfter }),
        },
        body: JSON.stringify({ query, variables }),
      });
      readAfter = newerPosition(readAfter, response.headers.get(READ_AFTER_HEADER) ?? undefined);
      body = (await response.json()) as typeof body;
    } catch (error) {
      throw new ProfileClientError(
        ERROR_CODE.NETWORK_ERROR,
        `The profile server could not be reached: ${String(error)}`,
      );
    }
    const first = body.errors?.[0];
    if (first !== undefined) {
      // A fresh token may help an expired one; a deleted account's, never (a later token is a new account).
      if (first.extensions?.code === 'UNAUTHENTICATED' && first.extensions.reason !== 'ACCOUNT_DELETED' && !retried) {
        return execute(query, variables, true);
      }
      throw toClientError(first);
    }
    if (body.data === undefined || body.data === null) {
      throw new ProfileClientError(ERROR_CODE.NETWORK_ERROR, `Unexpected response (HTTP ${response.status})`);
    }
    return body.data;
  }

  function webSocketUrl(): string {
    return options.webSocketUrl ?? options.url.replace(/^http/, 'ws');
  }

  async function webSocketImpl(): Promise<unknown> {
    return options.webSocketImpl ?? (globalThis as { WebSocket?: unknown }).WebSocket ?? (await findWebSocket());
  }

  /** Runs `change` after every change to the subscriptions before it. */
  function serially(change: () => Promise<void>): Promise<void> {
    subscriptionChange = subscriptionChange.then(change, change);
    return subscriptionChange;
  }

  function resubscribe(): Promise<void> {
    return serially(replaceSubscription);
  }

  /** The live connection, opened on first use (only from a change run `serially`); undefined without a WebSocket. */
  async function liveSocket(): Promise<WebSocketClient | undefined> {
    if (socket !== undefined) return socket;
    const impl = await webSocketImpl();
    if (impl === undefined) return undefined;
    socket = createWebSocketClient({
      url: webSocketUrl(),
      webSocketImpl: impl,
      lazy: true,
      retryAttempts: Infinity,
      connectionParams: async () => ({ authorization: `Bearer ${await options.getToken()}` }),
      // graphql-ws subscribes the status groups again on the new connection, but the server sends
      // changes only: what changed while the connection was down is read here.
      on: { connected: () => void catchUpStatuses() },
    });
    return socket;
  }

  async function replaceSubscription(): Promise<void> {
    stopSubscription?.();
    stopSubscription = undefined;
    if (handlers.size === 0) return;
    const self = tokenSubject(await options.getToken());
    const userIDs = [...new Set([...(self === undefined ? [] : [self]), ...watched])].slice(0, MAX_USER_IDS);
    const live = await liveSocket();
    if (live === undefined) {
      logger.warn('profile updates need a WebSocket: this runtime has none; pass webSocketImpl');
      return;
    }
    let stopped = false;
    let retry: ReturnType<typeof setTimeout> | undefined;
    /** The subscription was refused or failed: subscribed again later when the server said "not now". */
    const refused = (error: unknown): void => {
      if (stopped) return;
      const reason = error instanceof Error ? error.message : JSON.stringify(error);
      if (!isUnavailable(error)) return logger.warn(`profile updates stopped: ${reason}`);
      const waitMs = Math.min(RESUBSCRIBE_FIRST_MS * 2 ** unavailableInARow, RESUBSCRIBE_MAX_MS);
      unavailableInARow += 1;
      logger.warn(`profile updates refused for now, subscribing again in ${waitMs} ms: ${reason}`);
      retry = setTimeout(() => void (stopped ? undefined : resubscribe()), waitMs);
    };
    // graphql-ws sends this same payload again on every reconnection, so keeping the newest cursor
    // in it resumes the subscription where it stopped: changes made meanwhile arrive first.
    const variables: { ids: string[]; since?: string } = { ids: userIDs, ...(since === undefined ? {} : { since }) };
    const unsubscribe = live.subscribe<{ profileUpdated: ApiProfile }>(
      {
        query: `subscription ($ids: [ID!]!, $since: String) { profileUpdated(userIDs: $ids, since: $since) { ${PROFILE_SELECTION} } }`,
        variables,
      },
      {
        next: (message) => {
          // A subscription the server could not start comes as one result with errors, then ends.
          if (message.errors !== undefined && (message.data === undefined || message.data === null))
            return refused(message.errors);
          unavailableInARow = 0;
          const cursor = (message.extensions as { cursor?: unknown } | undefined)?.cursor;
          if (typeof cursor === 'string' && /^[0-9]{1,19}$/.test(cursor)) {
            if (variables.since === undefined || BigInt(cursor) > BigInt(variables.since)) {
              variables.since = since = cursor;
            }
          }
          if (message.data?.profileUpdated) {
            const event = { name: EVENT.PROFILE_UPDATED, data: [fromApi(message.data.profileUpdated)] };
            for (const handler of handlers) handler(event);
          }
        },
        error: refused,
        complete: () => undefined,
      },
    );
    stopSubscription = () => {
      stopped = true;
      clearTimeout(retry);
      unsubscribe();
    };
  }

  const isSubscribed = (userID: string): boolean => statusGroups.some((group) => group.userIDs.has(userID));

  /** Reports the statuses that differ from those known, and remembers them. */
  function reportStatuses(statuses: readonly UserStatus[], readSince?: number): void {
    const changed = statuses.filter((status) => {
      const known = knownStatuses.get(status.userID);
      if (!isSubscribed(status.userID) || known?.key === statusKey(status)) return false;
      // A status read before a newer one arrived is stale.
      if (readSince !== undefined && known !== undefined && known.version > readSince) return false;
      knownStatuses.set(status.userID, { key: statusKey(status), version: ++statusVersion });
      return true;
    });
    if (changed.length === 0) return;
    const event = { name: EVENT.USER_STATUS_UPDATED, data: changed };
    for (const handler of statusHandlers) handler(event);
  }

  /** On every connection: reads the subscribed users' statuses and reports those that changed unnoticed (while it was down). */
  async function catchUpStatuses(): Promise<void> {
    const userIDs = statusGroups.flatMap((group) => [...group.userIDs]);
    const readSince = statusVersion;
    try {
      for (let start = 0; start < userIDs.length; start += MAX_STATUS_READ_IDS) {
        const data = await execute<{ userStatuses: ApiUserStatus[] }>(
          `query ($ids: [ID!]!) { userStatuses(ids: $ids) { ${STATUS_SELECTION} } }`,
          { ids: userIDs.slice(start, start + MAX_STATUS_READ_IDS) },
        );
        reportStatuses(data.userStatuses.map(statusFromApi), readSince);
      }
    } catch (error) {
      logger.warn(`user statuses could not be read after reconnecting: ${String(error)}`);
    }
  }

  /**
   * Replaces the subscription of each group in `changed` (stopping it when the group is empty). The
   * server sends no status on subscribing, so a change to a replaced group's user made while the
   * server swaps the two may go unreported; later ones are reported.
   */
  async function replaceStatusGroups(changed: Iterable<StatusGroup>): Promise<void> {
    const groups = [...changed];
    if (groups.length === 0) return;
    const live = await liveSocket();
    if (live === undefined) {
      logger.warn('user status updates need a WebSocket: this runtime has none; pass webSocketImpl');
    }
    for (const group of groups) {
      const previous = group.stop;
      group.stop = live === undefined || group.userIDs.size === 0 ? undefined : subscribeStatusGroup(live, group);
      previous?.();
    }
  }

  function subscribeStatusGroup(live: WebSocketClient, group: StatusGroup): () => void {
    let stopped = false;
    const unsubscribe = live.subscribe<{ userStatusUpdated: ApiUserStatus }>(
      {
        query: `subscription ($ids: [ID!]!) { userStatusUpdated(userIDs: $ids) { ${STATUS_SELECTION} } }`,
        variables: { ids: [...group.userIDs] },
      },
      {
        next: (message) => {
          const status = message.data?.userStatusUpdated;
          if (!stopped && status) reportStatuses([statusFromApi(status)]);
        },
        error: (error) => {
          if (!stopped)
            logger.warn(
              `user status updates stopped: ${error instanceof Error ? error.message : JSON.stringify(error)}`,
            );
        },
        complete: () => undefined,
      },
    );
    return () => {
      stopped = true;
      unsubscribe();
    };
  }

  return {
    async getMyProfile() {
      const data = await execute<{ me: ApiProfile }>(`query { me { ${PROFILE_SELECTION} } }`, {});
      return ok(fromApi(data.me));
    },

    async getUserProfile(request) {
      const userIDList = (request as { userIDList?: unknown } | undefined)?.userIDList;
      if (!Array.isArray(userIDList)) throw invalidParameter('getUserProfile expects { userIDList: string[] }');
      if (userIDList.some((id) => typeof id !== 'string')) throw invalidParameter('userIDList must contain strings');
      let ids = userIDList as string[];
      if (ids.length === 0) logger.warn('getUserProfile: userIDList is empty');
      if (ids.length > MAX_USER_IDS) {
        logger.warn(`getUserProfile: ${ids.length} user IDs given; only the first ${MAX_USER_IDS} are used`);
        ids = ids.slice(0, MAX_USER_IDS);
      }
      const data = await execute<{ users: ApiProfile[] }>(
        `query ($ids: [ID!]!) { users(ids: $ids) { ${PROFILE_SELECTION} } }`,
        { ids },
      );
      return ok(data.users.map(fromApi));
    },

    async updateMyProfile(updates) {
      const input = toApiInput(updates);
      const data = await execute<{ updateMyProfile: ApiProfile }>(
        `mutation ($input: UpdateMyProfileInput!) { updateMyProfile(input: $input) { ${PROFILE_SELECTION} } }`,
        { input },
      );
      return ok(fromApi(data.updateMyProfile));
    },

    async searchCloudUsers(options) {
      const data = await execute<{ searchUsers: { users: ApiProfile[]; nextCursor: string | null } }>(
        `query ($input: SearchUsersInput!) { searchUsers(input: $input) { users { ${PROFILE_SELECTION} } nextCursor } }`,
        { input: toSearchInput(options) },
      );
      return ok({ searchResultList: data.searchUsers.users.map(fromApi), cursor: data.searchUsers.nextCursor ?? '' });
    },

    async deleteMyAccount() {
      const data = await execute<{ deleteMyAccount: boolean }>(`mutation { deleteMyAccount }`, {});
      return ok({ deleted: data.deleteMyAccount });
    },

    async exportMyData() {
      const data = await execute<{ exportMyData: ApiPersonalData }>(
        `query { exportMyData { exportedAt profile { ${PROFILE_SELECTION} } storedCustomFields { key value }
          history { eventID eventType eventTime operator changes { field value } } } }`,
        {},
      );
      const exported = data.exportMyData;
      return ok({
        exportedAt: Date.parse(exported.exportedAt),
        profile: fromApi(exported.profile),
        storedCustomFields: exported.storedCustomFields.map(({ key, value }) => ({ key, value })),
        history: exported.history.map((entry) => ({
          eventID: entry.eventID,
          eventType: entry.eventType,
          eventTime: Date.parse(entry.eventTime),
          operator: entry.operator,
          changes: entry.changes.map(({ field, value }) => ({ field, value })),
        })),
      });
    },

    async setSelfStatus(request) {
      const customStatus = (request as { customStatus?: unknown } | null | undefined)?.customStatus;
      if (typeof customStatus !== 'string') throw invalidParameter('setSelfStatus expects { customStatus: string }');
      const data = await execute<{ setMyStatus: ApiUserStatus }>(
        `mutation ($customStatus: String!) { setMyStatus(customStatus: $customStatus) { ${STATUS_SELECTION} } }`,
        { customStatus },
      );
      return ok(statusFromApi(data.setMyStatus));
    },

    async getUserStatus(request) {
      const ids = statusIDList('getUserStatus', request, MAX_STATUS_READ_IDS, logger);
      const data = await execute<{ userStatuses: ApiUserStatus[] }>(
        `query ($ids: [ID!]!) { userStatuses(ids: $ids) { ${STATUS_SELECTION} } }`,
        { ids },
      );
      // Users without an account are UNKNOWN successes, as in the familiar SDK; an invalid ID refuses
      // the whole call. So nothing fails alone, and failureUserList is always empty.
      return ok({ successUserList: data.userStatuses.map(statusFromApi), failureUserList: [] });
    },

    async subscribeUserStatus(request) {
      const ids = statusIDList('subscribeUserStatus', request, MAX_STATUS_SUBSCRIPTION_IDS, logger);
      // Read first: the server checks the IDs (an invalid one refuses the call and subscribes no one,
      // so it never breaks a live subscription), and the statuses read are those changes are told from.
      const data = await execute<{ userStatuses: ApiUserStatus[] }>(
        `query ($ids: [ID!]!) { userStatuses(ids: $ids) { ${STATUS_SELECTION} } }`,
        { ids },
      );
      await serially(async () => {
        const changed = new Set<StatusGroup>();
        for (const status of data.userStatuses.map(statusFromApi)) {
          if (isSubscribed(status.userID)) continue;
          let group = statusGroups.find((candidate) => candidate.userIDs.size < MAX_STATUS_SUBSCRIPTION_IDS);
          if (group === undefined) statusGroups.push((group = { userIDs: new Set() }));
          group.userIDs.add(status.userID);
          changed.add(group);
          knownStatuses.set(status.userID, { key: statusKey(status), version: ++statusVersion });
        }
        await replaceStatusGroups(changed);
      });
      return ok({ failureUserList: [] });
    },

    async unsubscribeUserStatus(request) {
      const userIDList = (request as { userIDList?: unknown } | null | undefined)?.userIDList;
      if (userIDList !== undefined && !Array.isArray(userIDList)) {
        throw invalidParameter('unsubscribeUserStatus expects { userIDList?: string[] }');
      }
      if (userIDList?.some((id) => typeof id !== 'string')) throw invalidParameter('userIDList must contain strings');
      const everyone = userIDList === undefined || userIDList.length === 0;
      await serially(async () => {
        const removed = everyone ? statusGroups.flatMap((group) => [...group.userIDs]) : (userIDList as string[]);
        const changed = new Set<StatusGroup>();
        for (const userID of removed) {
          const group = statusGroups.find((candidate) => candidate.userIDs.has(userID));
          if (group === undefined) continue;
          group.userIDs.delete(userID);
          knownStatuses.delete(userID);
          changed.add(group);
        }
        for (const group of changed) if (group.userIDs.size === 0) statusGroups.splice(statusGroups.indexOf(group), 1);
        await replaceStatusGroups(changed);
      });
      return ok({ failureUserList: [] });
    },

    on(
      event: ProfileEvent,
      handler: ((event: ProfileUpdatedEvent) => void) | ((event: UserStatusUpdatedEvent) => void),
    ) {
      if (event === EVENT.USER_STATUS_UPDATED) {
        statusHandlers.add(handler as (event: UserStatusUpdatedEvent) => void);
        return;
      }
      if (event !== EVENT.PROFILE_UPDATED) throw invalidParameter(`unknown event ${String(event)}`);
      const first = handlers.size === 0;
      handlers.add(handler as (event: ProfileUpdatedEvent) => void);
      if (first) void resubscribe();
    },

    off(
      event: ProfileEvent,
      handler: ((event: ProfileUpdatedEvent) => void) | ((event: UserStatusUpdatedEvent) => void),
    ) {
      if (event === EVENT.USER_STATUS_UPDATED) {
        statusHandlers.delete(handler as (event: UserStatusUpdatedEvent) => void);
        return;
      }
      if (event !== EVENT.PROFILE_UPDATED) return;
      handlers.delete(handler as (event: ProfileUpdatedEvent) => void);
      if (handlers.size === 0) void resubscribe();
    },

    watchProfiles(userIDList) {
      for (const id of userIDList) watched.add(id);
      if (handlers.size > 0) void resubscribe();
    },

    unwatchProfiles(userIDList) {
      for (const id of userIDList) watched.delete(id);
      if (handlers.size > 0) void resubscribe();
    },

    async close() {
      await subscriptionChange;
      stopSubscription?.();
      stopSubscription = undefined;
      // Status subscriptions end with the connection: subscribe again after.
      for (const group of statusGroups.splice(0)) group.stop?.();
      knownStatuses.clear();
      await socket?.dispose();
      socket = undefined;
    },
  };
}
