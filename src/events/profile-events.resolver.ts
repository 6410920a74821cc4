import { GraphQLID } from 'graphql';
import { Arg, Resolver, Root, Subscription } from 'type-graphql';
import type { Viewer } from '../auth/viewer.js';
import { requireViewer, type RequestContext } from '../shared/request-context.js';
import { User } from '../user/user.types.js';
import { LIMITS } from '../shared/input-rules.js';

@Resolver(() => User)
export class ProfileEventsResolver {
  @Subscription(() => User, {
    description:
      'The profile of a watched user, each time a committed change altered some value of it (an update ' +
      'that changes nothing sends nothing). Profiles are shown as users(ids:) shows them to the caller; ' +
      'each delivery is the profile as it is now, so several quick changes may arrive as one. ' +
      `At most ${LIMITS.userIDsPerRequest} distinct IDs (more is BAD_USER_INPUT with reason TOO_MANY). Served over the graphql-ws protocol on the same path; ` +
      'send the bearer token as `authorization` in the connection_init payload. Each message carries ' +
      '`extensions.cursor`: pass the last one seen as `since` when subscribing again (after a reconnect) to ' +
      'first receive every watched user changed meanwhile.',
    // The hub that serves it exists only with the app's services: schema.ts wires it (see profileUpdatedSource).
    subscribe: () => {
      throw new Error('profileUpdated is served only by a schema built with its services');
    },
  })
  profileUpdated(
    @Root() user: User,
    @Arg('userIDs', () => [GraphQLID], {
      description: `The users to watch: 1 to ${LIMITS.userIDsPerRequest} distinct IDs; repeats count once.`,
    })
    _userIDs: string[],
    @Arg('since', () => String, {
      nullable: true,
      description:
        "The last `extensions.cursor` this client received: the watched users changed after it come first, each as it is now (every watched user when the cursor's event is older than the outbox keeps). A value that is not a cursor is BAD_USER_INPUT with reason INVALID_VALUE.",
    })
    _since: string | null,
  ): User {
    return user;
  }
}

/** What serves `profileUpdated`: the hub's stream of a viewer's watched profiles. */
export type WatchProfiles = (viewer: Viewer, userIDs: string[], since?: string | null) => Promise<AsyncIterable<User>>;

/** The `subscribe` of `profileUpdated` over `watch`, as graphql-js calls it. */
export function profileUpdatedSource(watch: WatchProfiles) {
  return (_root: unknown, args: { userIDs: string[]; since?: string | null }, context: RequestContext) =>
    watch(requireViewer(context), args.userIDs, args.since);
}
