import type { GraphQLError } from 'graphql';
import type { TokenVerifier } from './auth/token-verifier.js';
import type { Viewer } from './auth/viewer.js';
import type { WarningCode } from './errors.js';
import type { Metrics } from './observability/metrics.js';
import type { CustomFieldCatalog } from './user/custom-field-catalog.js';
import { createProfileLoader, type ProfileLoader } from './user/user.loaders.js';
import type { StatementCounter, UserProfileRepository } from './user/user.repository.js';
import type { UserProfileService } from './user/user.service.js';

export interface Warning {
  readonly code: WarningCode;
  readonly message: string;
  readonly [detail: string]: unknown;
}

/** Singletons built once at start-up and shared by every request. */
export interface Services {
  readonly tokenVerifier: TokenVerifier;
  readonly customFieldCatalog: CustomFieldCatalog;
  readonly profileRepository: UserProfileRepository;
  readonly sqlStatements: StatementCounter;
  readonly profileService: UserProfileService;
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

export async function createContext(services: Services, authorization: string | undefined): Promise<Context> {
  let auth: Context['auth'];
  try {
    auth = { viewer: await services.tokenVerifier.verifyAuthorization(authorization) };
  } catch (error) {
    auth = { error: error as GraphQLError };
  }
  return {
    auth,
    loaders: {
      profile: createProfileLoader(services.profileRepository, (size) =>
        services.metrics.observeLoaderBatch('profile', size),
      ),
    },
    services,
    warnings: [],
  };
}

export function requireViewer(context: Context): Viewer {
  if ('error' in context.auth) throw context.auth.error;
  return context.auth.viewer;
}
