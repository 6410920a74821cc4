import { isUnionType, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { BadUserInputError, ErrorReason } from '../errors.js';

/**
 * `@apollo/subgraph` throws a plain Error for a `__typename` it cannot find (masked as an internal
 * error) and echoes back a representation of a known type that is no entity. This checks every
 * representation first, so a gateway or client sending one gets BAD_USER_INPUT naming it.
 */
export function guardEntityRepresentations(schema: GraphQLSchema): void {
  const field = schema.getQueryType()?.getFields()._entities;
  const entityUnion = schema.getType('_Entity');
  if (field?.resolve === undefined || !isUnionType(entityUnion)) {
    throw new Error('guardEntityRepresentations needs a subgraph schema with entities');
  }
  const entityTypes = new Set(entityUnion.getTypes().map((type) => type.name));
  const resolve: GraphQLFieldResolver<unknown, unknown> = field.resolve;
  field.resolve = (source, args: { representations: readonly unknown[] }, context, info) => {
    args.representations.forEach((representation, index) => {
      const typename =
        typeof representation === 'object' && representation !== null
          ? (representation as { __typename?: unknown }).__typename
          : undefined;
      if (typeof typename !== 'string' || !entityTypes.has(typename)) {
        throw new BadUserInputError(
          `representations[${index}]`,
          ErrorReason.UNKNOWN_ENTITY_TYPE,
          `Representation ${index} needs a __typename naming an entity of this subgraph: ${[...entityTypes].join(', ')}`,
        );
      }
    });
    return resolve(source, args, context, info);
  };
}
