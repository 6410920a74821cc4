import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import type { GraphQLSchema } from 'graphql';
import type { Config } from '../config.js';
import type { Context } from '../context.js';
import { createCompiledExecution } from '../execution/compiled-execution.js';
import type { PreparedOperations } from '../execution/prepared-operations.js';
import { createApolloGatePlugins } from '../gate/apollo-gate.js';
import type { OperationGate } from '../gate/operation-gate.js';

/**
 * Answers are never cacheable (every field needs a token), so every response says `no-store`, as
 * Apollo's cache-control plugin did. That plugin is off: it hooks every field resolution to collect
 * cache hints we never give, which cost more CPU than any other part of Apollo on a 100-profile read.
 */
const noStorePlugin: ApolloServerPlugin<Context> = {
  async requestDidStart() {
    return {
      async willSendResponse({ response }) {
        response.http.headers.set('cache-control', 'no-store');
      },
    };
  },
};

/** Apollo for the HTTP transport: every policy comes from the gate, execution from graphql-jit. */
export async function startApollo(
  config: Config,
  schema: GraphQLSchema,
  gate: OperationGate,
  prepared: PreparedOperations,
): Promise<ApolloServer<Context>> {
  const apollo = new ApolloServer<Context>({
    ...(config.graphqlJit ? { gateway: createCompiledExecution(schema, prepared) } : { schema }),
    csrfPrevention: true,
    // The gate's own validation rule refuses introspection where it is off (on every transport).
    introspection: true,
    hideSchemaDetailsFromClientErrors: config.isProduction,
    includeStacktraceInErrorResponses: config.development,
    allowBatchedHttpRequests: config.http.batchEnabled,
    parseOptions: gate.parseOptions,
    validationRules: [...gate.validationRules],
    // main.ts owns shutdown; Apollo's own signal handler would race it.
    stopOnTerminationSignals: false,
    formatError: gate.formatError,
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      ApolloServerPluginCacheControlDisabled(),
      noStorePlugin,
      ...createApolloGatePlugins(gate),
    ],
  });
  await apollo.start();
  return apollo;
}
