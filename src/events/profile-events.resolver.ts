import { GraphQLID } from 'graphql';
import { Arg, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { requireViewer, type Context } from '../context.js';
import { User } from '../user/user.types.js';
import { MAX_SUBSCRIBED_USER_IDS } from './profile-event-hub.js';

@Resolver(() => User)
export class ProfileEventsResolver {
  @Subscription(() => User, {
    description:
      'The profile of a watched user, each time a committed change altered some value of it (an update ' +
      'that changes nothing sends nothing). Profiles are shown as users(ids:) shows them to the caller; ' +
      'each delivery is the profile as it is now, so several quick changes may arrive as one. ' +
      `At most ${MAX_SUBSCRIBED_USER_IDS} distinct IDs. Served over the graphql-ws protocol on the same path; ` +
      'send the bearer token as `authorization` in the connection_init payload.',
    subscribe: ({ args, context }: SubscribeResolverData<unknown, { userIDs: string[] }, Context>) =>
      context.services.profileEvents.hub.subscribe(requireViewer(context), args.userIDs),
  })
  profileUpdated(
    @Root() user: User,
    @Arg('userIDs', () => [GraphQLID], {
      description: `The users to watch: 1 to ${MAX_SUBSCRIBED_USER_IDS} distinct IDs.`,
    })
    _userIDs: string[],
  ): User {
    return user;
  }
}
