import type { GraphQLError } from 'graphql';
import type { TokenVerifier } from './auth/token-verifier.js';
import type { Viewer } from './auth/viewer.js';
import type { WarningCode } from './errors.js';
import { attachRequestRecord, requestRecordOf, type RequestRecord } from './http/request-record.js';
import type { AccountAdminService } from './admin/admin.service.js';
import type { CustomFieldRegistry } from './custom-field/custom-field.registry.js';
import type { CustomFieldService } from './custom-field/custom-field.service.js';
import type { ProfileEvents } from './events/profile-events.js';
import type { Writer } from './limits/write-rate-limiter.js';
import type { Metrics } from './observability/metrics.js';
import { createProfileLoader, type ProfileLoader } from './user/user.loaders.js';
import type { StatementCounter, UserProfileRepository } from './user/user.repository.js';
import type { UserProfileService } from './user/user.service.js';
import type { WebhookAdminService } from './webhook/webhook-admin.service.js';

export interface Warning {
  readonly code: WarningCode;
  readonly message: string;
  readonly [detail: string]: unknown;
}

/** Singletons built once at start-up and shared by every request. */
export interface Services {
  readonly tokenVerifier: TokenVerifier;
  /** The custom field registry, kept in memory per instance (see CustomFieldRegistry). */
  readonly customFieldCatalog: CustomFieldRegistry;
  readonly customFieldService: CustomFieldService;
  readonly accountAdminService: AccountAdminService;
  readonly profileRepository: UserProfileRepository;
  readonly sqlStatements: StatementCounter;
  readonly profileService: UserProfileService;
  /** Live profile changes: the profileUpdated subscriptions, the relay and the webhook. */
  readonly profileEvents: ProfileEvents;
  /** The webhook's dead letters, for administrators. */
  readonly webhookAdminService: WebhookAdminService;
  readonly metrics: Metrics;
}

export interface Context {
  /** The verified caller, or the reason there is none (answered only by operations that need one). */
  readonly auth: { readonly viewer: Viewer } | { readonly error: GraphQLError };
  readonly loaders: { readonly profile: ProfileLoader };
  readonly services: Services;
  /** Collected during execution, sent in `extensions.warnings`. */
  readonly warnings: Warning[];
}

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
    auth = { viewer: await services.tokenVerifier.verifyAuthorization(authorization) };
  } catch (error) {
    auth = { error: error as GraphQLError };
  }
  const context: Context = {
    auth,
    loaders: {
      profile: createProfileLoader(services.profileRepository, (size) =>
        services.metrics.observeLoaderBatch('profile', size),
      ),
    },
    services,
    warnings: [],
  };
  return record === undefined ? context : attachRequestRecord(context, record);
}

/** Who a write counts against for the rate limit: the signed-in user, and the request's address. */
export function writerOf(context: Context): Writer {
  return {
    userID: 'viewer' in context.auth ? context.auth.viewer.userID : undefined,
    ip: requestRecordOf(context)?.ip,
  };
}

export function requireViewer(context: Context): Viewer {
  if ('error' in context.auth) throw context.auth.error;
  return context.auth.viewer;
}
