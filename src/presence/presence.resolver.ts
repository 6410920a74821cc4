import { GraphQLID } from 'graphql';
import { Arg, Ctx, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { Viewer } from '../auth/viewer.js';
import { requireViewer, type RequestContext } from '../shared/request-context.js';
import { STATUS_LIMITS, type UserStatusView } from './presence.rules.js';
import { UserStatus } from './presence.types.js';
import type { UserStatusService } from './user-status.service.js';

@Resolver(() => UserStatus)
export class PresenceResolver {
  constructor(private readonly statuses: UserStatusService) {}

  @Query(() => [UserStatus], {
    description:
      `Who is online: the status of each ID, in the order given, once per distinct ID. 1 to ${STATUS_LIMITS.userIDsPerRead} ` +
      'distinct IDs (more is BAD_USER_INPUT with reason TOO_MANY, none INVALID_VALUE). An ID without an account, or ' +
      'with a deactivated one, is UNKNOWN.',
  })
  async userStatuses(
    @Arg('ids', () => [GraphQLID], { description: `1 to ${STATUS_LIMITS.userIDsPerRead} user IDs.` }) ids: string[],
    @Ctx() context: RequestContext,
  ): Promise<UserStatusView[]> {
    return this.statuses.getStatuses(requireViewer(context), ids);
  }

  @Mutation(() => UserStatus, {
    description:
      `Sets the caller's custom status: at most ${STATUS_LIMITS.customStatusBytes} UTF-8 bytes without control ` +
      'characters (BAD_USER_INPUT with reason TOO_LONG or INVALID_CHARACTERS); "" clears it. Subscribers of ' +
      'userStatusUpdated receive the change.',
  })
  async setMyStatus(
    @Arg('customStatus', { description: 'The new custom status; "" clears it.' }) customStatus: string,
    @Ctx() context: RequestContext,
  ): Promise<UserStatusView> {
    return this.statuses.setMyStatus(requireViewer(context), customStatus);
  }

  @Subscription(() => UserStatus, {
    description:
      'The status of a watched user each time it changes (online, offline, custom status, account ' +
      'deactivated or deleted: UNKNOWN), from any instance, within about a second. Changes are gathered ' +
      'briefly, so a user reconnecting quickly sends nothing and one changing often at most one message a ' +
      `moment. 1 to ${STATUS_LIMITS.userIDsPerSubscription} distinct IDs. Read the current statuses with userStatuses.`,
    // The hub that serves it exists only with the app's services: schema.ts wires it (see userStatusSource).
    subscribe: () => {
      throw new Error('userStatusUpdated is served only by a schema built with its services');
    },
  })
  userStatusUpdated(
    @Root() status: UserStatusView,
    @Arg('userIDs', () => [GraphQLID], {
      description: `The users to watch: 1 to ${STATUS_LIMITS.userIDsPerSubscription} distinct IDs; repeats count once.`,
    })
    _userIDs: string[],
  ): UserStatusView {
    return status;
  }
}

/** What serves `userStatusUpdated`: the hub's stream of a viewer's watched statuses. */
export type WatchStatuses = (viewer: Viewer, userIDs: string[]) => Promise<AsyncIterable<UserStatusView>>;

/** The `subscribe` of `userStatusUpdated` over `watch`, as graphql-js calls it. */
export function userStatusSource(watch: WatchStatuses) {
  return (_root: unknown, args: { userIDs: string[] }, context: RequestContext) =>
    watch(requireViewer(context), args.userIDs);
}
