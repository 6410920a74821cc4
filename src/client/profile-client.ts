import { createClient as createWebSocketClient, type Client as WebSocketClient } from 'graphql-ws/client';
import { PROFILE_FIELDS, STANDARD_FIELDS, type FieldSpec, type StandardField } from '../user/profile-fields.js';
import { enumMapping, ERROR_CODE, EVENT, type EnumMapping, type ProfileEvent } from './constants.js';
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
  name: ProfileEvent;
  data: Profile[];
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
  /** Handlers receive an array of changed profiles, for the caller and every watched user. */
  on(event: ProfileEvent, handler: (event: ProfileUpdatedEvent) => void): void;
  off(event: ProfileEvent, handler: (event: ProfileUpdatedEvent) => void): void;
  /** Adds users whose profile changes PROFILE_UPDATED reports (the caller is always included). */
  watchProfiles(userIDList: string[]): void;
  unwatchProfiles(userIDList: string[]): void;
  /** Closes the live connection, if one is open. */
  close(): Promise<void>;
}

const MAX_USER_IDS = 100;

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

  function resubscribe(): Promise<void> {
    subscriptionChange = subscriptionChange.then(replaceSubscription, replaceSubscription);
    return subscriptionChange;
  }

  async function replaceSubscription(): Promise<void> {
    stopSubscription?.();
    stopSubscription = undefined;
    if (handlers.size === 0) return;
    const self = tokenSubject(await options.getToken());
    const userIDs = [...new Set([...(self === undefined ? [] : [self]), ...watched])].slice(0, MAX_USER_IDS);
    if (socket === undefined) {
      const impl = await webSocketImpl();
      if (impl === undefined) {
        logger.warn('profile updates need a WebSocket: this runtime has none; pass webSocketImpl');
        return;
      }
      socket = createWebSocketClient({
        url: webSocketUrl(),
        webSocketImpl: impl,
        lazy: true,
        retryAttempts: Infinity,
        connectionParams: async () => ({ authorization: `Bearer ${await options.getToken()}` }),
      });
    }
    let stopped = false;
    // graphql-ws sends this same payload again on every reconnection, so keeping the newest cursor
    // in it resumes the subscription where it stopped: changes made meanwhile arrive first.
    const variables: { ids: string[]; since?: string } = { ids: userIDs, ...(since === undefined ? {} : { since }) };
    const unsubscribe = socket.subscribe<{ profileUpdated: ApiProfile }>(
      {
        query: `subscription ($ids: [ID!]!, $since: String) { profileUpdated(userIDs: $ids, since: $since) { ${PROFILE_SELECTION} } }`,
        variables,
      },
      {
        next: (message) => {
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
        error: (error) => {
          if (!stopped)
            logger.warn(`profile updates stopped: ${error instanceof Error ? error.message : JSON.stringify(error)}`);
        },
        complete: () => undefined,
      },
    );
    stopSubscription = () => {
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

    on(event, handler) {
      if (event !== EVENT.PROFILE_UPDATED) throw invalidParameter(`unknown event ${String(event)}`);
      const first = handlers.size === 0;
      handlers.add(handler);
      if (first) void resubscribe();
    },

    off(event, handler) {
      if (event !== EVENT.PROFILE_UPDATED) return;
      handlers.delete(handler);
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
      await socket?.dispose();
      socket = undefined;
    },
  };
}
