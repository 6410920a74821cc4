import { createClient, type ProfileClient, type ProfileClientOptions } from './profile-client.js';

export { ERROR_CODE, EVENT, TYPES, type ProfileEvent } from './constants.js';
export { ProfileClientError } from './errors.js';
export type {
  GetUserStatusResult,
  PersonalData,
  Profile,
  ProfileHistoryEntry,
  ProfileClient,
  ProfileClientOptions,
  ProfileClientResponse,
  ProfileUpdatedEvent,
  SearchCloudUsersOptions,
  SearchCloudUsersResult,
  UpdateMyProfileOptions,
  UserStatus,
  UserStatusFailure,
  UserStatusType,
  UserStatusUpdatedEvent,
} from './profile-client.js';

const noWebSocket = async (): Promise<unknown> => undefined;

/** A client with the familiar call shapes; events use the global WebSocket unless `webSocketImpl` is given. */
export function createProfileClient(options: ProfileClientOptions): ProfileClient {
  return createClient(options, noWebSocket);
}
