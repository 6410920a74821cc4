import { buildSubgraphSchema } from '@apollo/subgraph';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { parse, type GraphQLSchema } from 'graphql';
import { buildSchema, createResolversMap } from 'type-graphql';
import { AccountLifecycleResolver } from './account/account.resolver.js';
import { AccountAdminResolver } from './admin/admin.resolver.js';
import { CustomFieldResolver } from './custom-field/custom-field.resolver.js';
import type { Services } from './context.js';
import { profileUpdatedSource, ProfileEventsResolver } from './events/profile-events.resolver.js';
import { guardEntityRepresentations } from './federation/entity-representations.js';
import { PresenceResolver, userStatusSource } from './presence/presence.resolver.js';
import { UserSearchResolver } from './search/search.resolver.js';
import { UserResolver } from './user/user.resolver.js';
import { createUserReferenceResolver } from './user/user.reference.js';
import { WebhookAdminResolver } from './webhook/webhook-admin.resolver.js';

const FEDERATION_LINK = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])`;

/** What the resolvers are built with: each gets the services it uses through its constructor. */
export type SchemaServices = Pick<
  Services,
  | 'profileService'
  | 'profileLoaders'
  | 'accountAdminService'
  | 'accountLifecycleService'
  | 'customFieldService'
  | 'webhookAdminService'
  | 'profileEventHub'
  | 'searchService'
  | 'userStatusService'
  | 'userStatusHub'
>;

const RESOLVERS = [
  UserResolver,
  CustomFieldResolver,
  AccountAdminResolver,
  AccountLifecycleResolver,
  ProfileEventsResolver,
  WebhookAdminResolver,
  UserSearchResolver,
  PresenceResolver,
];

/** The resolver instances, by class, for type-graphql's container. */
function resolverInstances(services: SchemaServices): Map<unknown, object> {
  const { profileService, profileLoaders } = services;
  return new Map<unknown, object>([
    [UserResolver, new UserResolver(profileService, profileLoaders)],
    [CustomFieldResolver, new CustomFieldResolver(services.customFieldService)],
    [AccountAdminResolver, new AccountAdminResolver(services.accountAdminService, profileLoaders)],
    [AccountLifecycleResolver, new AccountLifecycleResolver(services.accountLifecycleService, profileLoaders)],
    [ProfileEventsResolver, new ProfileEventsResolver()],
    [WebhookAdminResolver, new WebhookAdminResolver(services.webhookAdminService)],
    [UserSearchResolver, new UserSearchResolver(services.searchService, profileLoaders)],
    [PresenceResolver, new PresenceResolver(services.userStatusService)],
  ]);
}

/**
 * type-graphql builds the schema from the decorated classes; @apollo/subgraph then makes it a
 * Federation v2 subgraph (adding `_service` and `_entities`) from its printed SDL and resolvers.
 * Without services the schema can be printed but not executed (scripts/print-schema.ts).
 */
export async function buildAppSchema(services?: SchemaServices): Promise<GraphQLSchema> {
  const instances = services === undefined ? new Map<unknown, object>() : resolverInstances(services);
  const typeGraphQLSchema = await buildSchema({
    resolvers: RESOLVERS as [(typeof RESOLVERS)[number], ...(typeof RESOLVERS)[number][]],
    container: {
      get(resolverClass) {
        const instance = instances.get(resolverClass);
        if (instance === undefined)
          throw new Error('this schema was built without services: it can be printed, not run');
        return instance;
      },
    },
    validate: false,
    // type-graphql requires a pubSub once a subscription exists; profileUpdated has its own
    // `subscribe` (src/events), so nothing ever publishes to or subscribes on this one.
    pubSub: {
      publish: () => undefined,
      subscribe: () => {
        throw new Error('every subscription brings its own subscribe function');
      },
    },
    // The subgraph wrapper below adds the federation types; checking before that would fail.
    skipCheck: true,
  });
  const resolvers = createResolversMap(typeGraphQLSchema) as Record<string, Record<string, unknown>>;
  if (services !== undefined) {
    resolvers.User = {
      ...resolvers.User,
      ...createUserReferenceResolver(services.profileService, services.profileLoaders),
    };
    const hub = services.profileEventHub;
    resolvers.Subscription.profileUpdated = {
      ...(resolvers.Subscription.profileUpdated as object),
      subscribe: profileUpdatedSource((viewer, userIDs, since) => hub.subscribe(viewer, userIDs, since)),
    };
    const statusHub = services.userStatusHub;
    resolvers.Subscription.userStatusUpdated = {
      ...(resolvers.Subscription.userStatusUpdated as object),
      subscribe: userStatusSource((viewer, userIDs) => statusHub.subscribe(viewer, userIDs)),
    };
  }
  const schema = buildSubgraphSchema({
    typeDefs: parse(`${FEDERATION_LINK}\n${printSchemaWithDirectives(typeGraphQLSchema)}`),
    // The map's values are type-graphql's own resolvers; its typing is looser than Apollo's.
    resolvers: resolvers as never,
  });
  guardEntityRepresentations(schema);
  // type-graphql has no way to describe the root types; their descriptions belong in the SDL too.
  const query = schema.getQueryType();
  if (query)
    query.description =
      'Reading profiles. Every field needs a bearer token; fields marked Administrators need an admin token.';
  const mutation = schema.getMutationType();
  if (mutation)
    mutation.description =
      'Changing profiles. Every field needs a bearer token; fields marked Administrators need an admin token.';
  const subscription = schema.getSubscriptionType();
  if (subscription) {
    subscription.description =
      'Live changes, over the graphql-ws protocol on the same path. The bearer token goes in the connection_init payload; ' +
      'an open connection makes its user ONLINE (see userStatuses).';
  }
  return schema;
}
