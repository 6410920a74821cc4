import { createClient as createWebSocketClient, type Client as WebSocketClient } from 'graphql-ws';
import {
  ALLOW_TYPE_TO_API,
  ERROR_CODE,
  EVENT,
  FORBID_TYPE_TO_API,
  GENDER_TO_API,
  invert,
  TYPES,
  type ProfileEvent,
} from './constants.js';
import { invalidParameter, ProfileClientError, toClientError, type GraphQLErrorShape } from './errors.js';

export { ERROR_CODE, EVENT, ProfileClientError, TYPES };

/** A profile in the shape front ends written against Tencent Cloud Chat's web SDK expect. */
export interface Profile {
  userID: string;
  nick: string;
  gender: string;
  birthday: number;
  location: string;
  selfSignature: string;
  allowType: string;
  language: number;
  avatar: string;
  messageSettings: number;
  adminForbidType: string;
  level: number;
  role: number;
  /** Server time of the last change, in milliseconds since the epoch. */
  lastUpdatedTime: number;
  profileCustomField: Array<{ key: string; value: string }>;
}

export type UpdateMyProfileOptions = Partial<Omit<Profile, 'userID' | 'lastUpdatedTime'>>;

export interface ProfileClientOptions {
  /** The server's GraphQL URL, e.g. `https://profiles.example.com/graphql`. */
  url: string;
  /** Returns the current bearer token; called again after the server answers UNAUTHENTICATED. */
  getToken: () => string | Promise<string>;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Defaults to `url` with ws:// or wss://. */
  webSocketUrl?: string;
  /** A WebSocket class, for runtimes without a global one (Node 20: the `ws` package). */
  webSocketImpl?: unknown;
  /** Where warnings go (e.g. the 100-ID cut); defaults to console. */
  logger?: { warn(message: string): void };
}

export interface ProfileClient {
  getMyProfile(): Promise<{ data: Profile }>;
  getUserProfile(options: { userIDList: string[] }): Promise<{ data: Profile[] }>;
  updateMyProfile(options: UpdateMyProfileOptions): Promise<{ data: Profile }>;
  /** Handlers receive an array of changed profiles, for the caller and every watched user. */
  on(event: ProfileEvent, handler: (event: { name: ProfileEvent; data: Profile[] }) => void): void;
  off(event: ProfileEvent, handler: (event: { name: ProfileEvent; data: Profile[] }) => void): void;
  /** Adds users whose profile changes PROFILE_UPDATED reports (the caller is always included). */
  watchProfiles(userIDList: string[]): void;
  unwatchProfiles(userIDList: string[]): void;
  /** Closes the live connection, if one is open. */
  close(): Promise<void>;
}

const MAX_USER_IDS = 100;
const PROFILE_FIELDS = `userID nick gender birthday location selfSignature allowType language avatar
  messageSettings adminForbidType level role lastUpdatedTime profileCustomField { key value }`;

const GENDER_FROM_API = invert(GENDER_TO_API);
const ALLOW_TYPE_FROM_API = invert(ALLOW_TYPE_TO_API);
const FORBID_TYPE_FROM_API = invert(FORBID_TYPE_TO_API);

type ApiProfile = Omit<Profile, 'lastUpdatedTime'> & { lastUpdatedTime: string };

function fromApi(profile: ApiProfile): Profile {
  return {
    ...profile,
    gender: GENDER_FROM_API[profile.gender] ?? profile.gender,
    allowType: ALLOW_TYPE_FROM_API[profile.allowType] ?? profile.allowType,
    adminForbidType: FORBID_TYPE_FROM_API[profile.adminForbidType] ?? profile.adminForbidType,
    lastUpdatedTime: Date.parse(profile.lastUpdatedTime),
    profileCustomField: profile.profileCustomField.map(({ key, value }) => ({ key, value })),
  };
}

const STRING_KEYS = new Set(['nick', 'location', 'selfSignature', 'avatar']);
const NUMBER_KEYS = new Set(['birthday', 'language', 'messageSettings', 'level', 'role']);
const ENUM_KEYS: Record<string, Record<string, string>> = {
  gender: GENDER_TO_API,
  allowType: ALLOW_TYPE_TO_API,
  adminForbidType: FORBID_TYPE_TO_API,
};

/** Validates like the familiar SDK does before sending, and maps constants to the API's enums. */
function toApiInput(options: unknown): Record<string, unknown> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw invalidParameter('updateMyProfile expects an object of fields to update');
  }
  const input: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined || value === null) throw invalidParameter(`${key} has no value`);
    if (STRING_KEYS.has(key)) {
      if (typeof value !== 'string') throw invalidParameter(`${key} must be a string`);
      input[key] = value;
    } else if (NUMBER_KEYS.has(key)) {
      if (typeof value !== 'number' || !Number.isInteger(value))
        throw invalidParameter(`${key} must be a whole number`);
      if (key === 'messageSettings' && value !== 0 && value !== 1)
        throw invalidParameter('messageSettings must be 0 or 1');
      input[key] = value;
    } else if (key in ENUM_KEYS) {
      const mapped = ENUM_KEYS[key][value as string];
      if (mapped === undefined)
        throw invalidParameter(`${key} must be one of ${Object.keys(ENUM_KEYS[key]).join(', ')}`);
      input[key] = mapped;
    } else if (key === 'profileCustomField') {
      if (!Array.isArray(value)) throw invalidParameter('profileCustomField must be an array of { key, value }');
      input[key] = value.map((item: unknown, index) => {
        const entry = item as { key?: unknown; value?: unknown } | null;
        if (typeof entry?.key !== 'string' || !entry.key.includes('Tag_Profile_Custom')) {
          throw invalidParameter(`profileCustomField[${index}].key must be a Tag_Profile_Custom_ key`);
        }
        if (typeof entry.value !== 'string')
          throw invalidParameter(`profileCustomField[${index}].value must be a string`);
        return { key: entry.key, value: entry.value };
      });
    } else {
      throw invalidParameter(`${key} is not a profile field`);
    }
  }
  if (Object.keys(input).length === 0) {
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

export function createProfileClient(options: ProfileClientOptions): ProfileClient {
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const logger = options.logger ?? console;
  const handlers = new Set<(event: { name: ProfileEvent; data: Profile[] }) => void>();
  const watched = new Set<string>();
  let socket: WebSocketClient | undefined;
  let stopSubscription: (() => void) | undefined;
  // Subscription changes run one after another, so a later watch never races an earlier one.
  let subscriptionChange: Promise<void> = Promise.resolve();

  async function execute<T>(query: string, variables: Record<string, unknown>, retried = false): Promise<T> {
    const token = await options.getToken();
    let response: Response;
    let body: { data?: T | null; errors?: GraphQLErrorShape[] };
    try {
      response = await doFetch(options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
      body = (await response.json()) as typeof body;
    } catch (error) {
      throw new ProfileClientError(
        ERROR_CODE.NETWORK_ERROR,
        `The profile server could not be reached: ${String(error)}`,
      );
    }
    const first = body.errors?.[0];
    if (first !== undefined) {
      if (first.extensions?.code === 'UNAUTHENTICATED' && !retried) return execute(query, variables, true);
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
    socket ??= createWebSocketClient({
      url: webSocketUrl(),
      webSocketImpl: options.webSocketImpl,
      lazy: true,
      retryAttempts: Infinity,
      connectionParams: async () => ({ authorization: `Bearer ${await options.getToken()}` }),
    });
    let stopped = false;
    const unsubscribe = socket.subscribe<{ profileUpdated: ApiProfile }>(
      {
        query: `subscription ($ids: [ID!]!) { profileUpdated(userIDs: $ids) { ${PROFILE_FIELDS} } }`,
        variables: { ids: userIDs },
      },
      {
        next: (message) => {
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
      const data = await execute<{ me: ApiProfile }>(`query { me { ${PROFILE_FIELDS} } }`, {});
      return { data: fromApi(data.me) };
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
        `query ($ids: [ID!]!) { users(ids: $ids) { ${PROFILE_FIELDS} } }`,
        { ids },
      );
      return { data: data.users.map(fromApi) };
    },

    async updateMyProfile(updates) {
      const input = toApiInput(updates);
      const data = await execute<{ updateMyProfile: ApiProfile }>(
        `mutation ($input: UpdateMyProfileInput!) { updateMyProfile(input: $input) { ${PROFILE_FIELDS} } }`,
        { input },
      );
      return { data: fromApi(data.updateMyProfile) };
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
