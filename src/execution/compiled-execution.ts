import type { ApolloServerOptionsWithGateway } from '@apollo/server';
import {
  execute,
  getVariableValues,
  GraphQLError,
  GraphQLScalarType,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery, type CompilerOptions } from 'graphql-jit';
import { earlyWorkOf, type PreparedOperations } from './prepared-operations.js';

type Gateway = ApolloServerOptionsWithGateway<Record<string, unknown>>['gateway'];
type Executor = NonNullable<Awaited<ReturnType<Gateway['load']>>['executor']>;

/**
 * Executes operations with graphql-jit: each parsed document (Apollo caches parsed and validated
 * documents, so a repeated operation arrives as the same object) is compiled once into plain
 * JavaScript that calls the same resolvers. Apollo Server 5 takes another executor only through
 * its gateway interface; everything before execution (parsing, validation, the document cache,
 * plugins, formatError) stays Apollo's.
 *
 * Answers are kept as graphql-js gives them: variables are coerced by graphql-js first (its error
 * messages and 400 status for bad variables), errors are handed to Apollo as real GraphQLErrors with
 * their original error, and an operation graphql-jit cannot compile runs on graphql-js.
 *
 * Each query or mutation it compiles is remembered in `prepared` under the text and operation name
 * the client sent, for the fast path; a request the fast path already executed arrives with its
 * result (see EarlyWork), which is returned as is rather than executed again.
 */
export function createCompiledExecution(schema: GraphQLSchema, prepared: PreparedOperations): Gateway {
  const dateTimeScalar = schema.getType('DateTimeISO');
  const options: Partial<CompilerOptions> = {
    // Enum and built-in scalar values are passed through rather than re-serialized: every resolver
    // returns them as the types the schema names (text columns as strings, enum labels equal to the
    // enum names, integer columns as numbers). graphql-jit's serializing call allocates its error
    // location and path arrays for every leaf of every row, which was a fifth of all allocation on a
    // 100-profile read. Our own scalars (UInt32, DateTimeISO) are still serialized.
    disableLeafSerialization: true,
    customSerializers:
      dateTimeScalar instanceof GraphQLScalarType
        ? {
            // What graphql-scalars does for a valid Date, without its copy and checks.
            DateTimeISO: (value: unknown) =>
              value instanceof Date && !Number.isNaN(value.getTime())
                ? value.toISOString()
                : dateTimeScalar.serialize(value),
          }
        : {},
  };
  const compiled = new WeakMap<DocumentNode, Map<string | null, CompiledQuery | undefined>>();

  const compile = (document: DocumentNode, operationName: string | null): CompiledQuery | undefined => {
    let byName = compiled.get(document);
    if (byName === undefined) compiled.set(document, (byName = new Map()));
    if (!byName.has(operationName)) {
      const result = compileQuery(schema, document, operationName ?? undefined, options);
      byName.set(operationName, isCompiledQuery(result) ? result : undefined);
    }
    return byName.get(operationName);
  };

  const executor: Executor = async (request) => {
    const { document, operation, operationName, context } = request;
    const executedEarly = earlyWorkOf(context)?.result;
    if (executedEarly !== undefined) return withRealErrors(executedEarly);
    const variables = request.request.variables ?? {};
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables, { maxErrors: 50 });
    if (coerced.errors !== undefined) return { errors: coerced.errors };
    const query = compile(document, operationName);
    if (query === undefined) {
      return execute({ schema, document, contextValue: context, variableValues: variables, operationName });
    }
    if (operation.operation !== 'subscription' && request.request.query === request.source) {
      prepared.remember(request.source, request.request.operationName ?? null, {
        document,
        operation,
        compiled: query,
      });
    }
    return withRealErrors((await query.query(undefined, context, variables)) as ExecutionResult);
  };

  return {
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: '' });
      return () => undefined;
    },
    async load() {
      return { executor };
    },
    async stop() {},
  };
}

function withRealErrors(result: ExecutionResult): ExecutionResult {
  return result.errors === undefined ? result : { ...result, errors: result.errors.map(asGraphQLError) };
}

/** graphql-jit's errors only look like GraphQLErrors; Apollo needs real ones (extensions, toJSON). */
function asGraphQLError(error: GraphQLError): GraphQLError {
  if (Object.getPrototypeOf(error) === GraphQLError.prototype) return error;
  const original = error.originalError ?? undefined;
  const real = new GraphQLError(error.message, {
    path: error.path,
    originalError: original,
    extensions: original instanceof GraphQLError ? original.extensions : undefined,
  });
  (real as { locations?: GraphQLError['locations'] }).locations = error.locations;
  if (original?.stack !== undefined) real.stack = original.stack;
  return real;
}
