import type { GraphQLError } from 'graphql';
import type { TokenVerifier } from './auth/token-verifier.js';
import type { Viewer } from './auth/viewer.js';
import { attachRequestRecord, requestRecordOf, type RequestRecord } from './http/request-record.js';
import type { AccountStateRegistry } from './account/account-state.registry.js';
import type { AccountLifecycleService } from './account/account.service.js';
import type { AccountAdminService } from './admin/admin.service.js';
import type { CustomFieldRegistry } from './custom-field/custom-field.registry.js';
import type { CustomFieldService } from './custom-field/custom-field.service.js';
import type { ProfileEventHub } from './events/profile-event-hub.js';
import type { ProfileEvents } from './events/profile-events.js';
import type { Writer } from './limits/write-rate-limiter.js';
import type { Metrics } from './observability/metrics.js';
import type { PresenceTracker } from './presence/presence-tracker.js';
import type { UserStatusHub } from './presence/user-status-hub.js';
import type { UserStatusService } from './presence/user-status.service.js';
import type { UserSearchService } from './search/search.service.js';
import type { RequestContext } from './shared/request-context.js';
import type { ProfileLoaderOf } from './user/user.loaders.js';
import type { UserProfileRepository } from './user/user.repository.js';
import type { UserProfileService } from './user/user.service.js';
import type { WebhookAdminService } from './webhook/webhook-admin.service.js';

/** Singletons built once at start-up and shared by every request. */
export interface Services {
  readonly tokenVerifier: TokenVerifier;
  /** The custom field registry, kept in memory per instance (see CustomFieldRegistry). */
  readonly customFieldCatalog: CustomFieldRegistry;
  readonly customFieldService: CustomFieldService;
  readonly accountAdminService: AccountAdminService;
  readonly accountLifecycleService: AccountLifecycleService;
  /** Deactivated and deleted accounts, kept in memory per instance (see AccountStateRegistry). */
  readonly accountStates: AccountStateRegistry;
  readonly profileRepository: UserProfileRepository;
  readonly profileService: UserProfileService;
  /** The request's profile loader (made per request, on first use). */
  readonly profileLoaders: ProfileLoaderOf;
  /** Live profile changes: the bus, the relay and the webhook. */
  readonly profileEvents: ProfileEvents;
  /** The profileUpdated subscriptions on this instance. */
  readonly profileEventHub: ProfileEventHub;
  /** The webhook's dead letters, for administrators. */
  readonly webhookAdminService: WebhookAdminService;
  /** searchUsers. */
  readonly searchService: UserSearchService;
  /** This instance's connections, as who is online (see PresenceTracker). */
  readonly presence: PresenceTracker;
  /** userStatuses and setMyStatus. */
  readonly userStatusService: UserStatusService;
  /** The userStatusUpdated subscriptions on this instance. */
  readonly userStatusHub: UserStatusHub;
  readonly metrics: Metrics;
}

/** A request's context: what every transport hands the resolvers (see shared/request-context.ts). */
export type Context = RequestContext;

/**
 * A request's context. Over HTTP it carries the request's record (see request-record.ts), which
 * plugins read for the log line, metrics and the caller's address.
 */
export async function createContext(
  services: Services,
  authorization: string | undefined,
  record?: RequestRecord,
): Promise<Context> {
  let auth: Context['auth'];
  try {
    auth = { viewer: await authenticate(services, authorization) };
  } catch (error) {
    auth = { error: error as GraphQLError };
  }
  const context: Context = { auth };
  return record === undefined ? context : attachRequestRecord(context, record);
}

/**
 * The caller an `Authorization` header names, on every transport: a valid token whose account was
 * not deleted after it was issued (UNAUTHENTICATED / ACCOUNT_DELETED) and is not deactivated
 * (FORBIDDEN / ACCOUNT_DEACTIVATED).
 */
export async function authenticate(services: Services, authorization: string | undefined): Promise<Viewer> {
  const viewer = await services.tokenVerifier.verifyAuthorization(authorization);
  const refusal = services.accountStates.refusalOf(viewer);
  if (refusal !== undefined) throw refusal;
  return viewer;
}

/** Who a write counts against for the rate limit: the signed-in user, and the request's address. */
export function writerOf(context: Context): Writer {
  return {
    userID: 'viewer' in context.auth ? context.auth.viewer.userID : undefined,
    ip: requestRecordOf(context)?.ip,
  };
}
