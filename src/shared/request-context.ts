import type { GraphQLError } from 'graphql';
import type { Viewer } from '../auth/viewer.js';

/**
 * What one request carries, whatever transport brought it: the caller. Services reach resolvers
 * through their constructors, not through this; a feature keeps its own per-request state (e.g.
 * the profile loader) on it with a context slot.
 */
export interface RequestContext {
  /** The verified caller, or the reason there is none (answered only by operations that need one). */
  readonly auth: { readonly viewer: Viewer } | { readonly error: GraphQLError };
}

export function requireViewer(context: RequestContext): Viewer {
  if ('error' in context.auth) throw context.auth.error;
  return context.auth.viewer;
}
