import {
  getNamedType,
  GraphQLError,
  isInputObjectType,
  isObjectType,
  Kind,
  valueFromASTUntyped,
  type ASTVisitor,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValueNode,
} from 'graphql';
import type { GraphQLLimits } from '../config.js';
import { QueryLimitReason } from '../errors.js';

type ValidationRule = (context: ValidationContext) => ASTVisitor;

/** Introspection is refused in production; where it is on, its deep standard query stays usable. */
const isIntrospectionRoot = (name: string) => name === '__schema' || name === '__type';

export function limitError(reason: QueryLimitReason, limit: number, message: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: 'GRAPHQL_VALIDATION_FAILED', field: 'query', reason, limit, http: { status: 400 } },
  });
}

/**
 * A fragment's measure (depth, cost), computed once per fragment name, so spreads that fan out
 * cannot make a walk expensive. A cycle (refused by graphql-js's own rule) and an unknown fragment
 * count as 0.
 */
function perFragment(
  fragmentNamed: (name: string) => FragmentDefinitionNode | null | undefined,
  measure: (set: SelectionSetNode) => number,
): (name: string) => number {
  const memo = new Map<string, number>();
  return (name) => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    memo.set(name, 0);
    const fragment = fragmentNamed(name);
    const value = fragment ? measure(fragment.selectionSet) : 0;
    memo.set(name, value);
    return value;
  };
}

/** Depth of the deepest field path, following fragments (each measured once, see perFragment). */
function depthRule(maxDepth: number): ValidationRule {
  return (context) => {
    const fragmentDepth = perFragment(
      (name) => context.getFragment(name),
      (set) => selectionDepth(set),
    );
    const selectionDepth = (set: SelectionSetNode | undefined): number => {
      if (set === undefined) return 0;
      let deepest = 0;
      for (const selection of set.selections) {
        let depth: number;
        if (selection.kind === Kind.FIELD) {
          if (isIntrospectionRoot(selection.name.value)) continue;
          depth = 1 + selectionDepth(selection.selectionSet);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          depth = selectionDepth(selection.selectionSet);
        } else {
          depth = fragmentDepth(selection.name.value);
        }
        if (depth > deepest) deepest = depth;
      }
      return deepest;
    };
    return {
      OperationDefinition(operation) {
        const depth = selectionDepth(operation.selectionSet);
        if (depth > maxDepth) {
          context.reportError(
            limitError(
              QueryLimitReason.DEPTH_LIMIT,
              maxDepth,
              `The query is ${depth} levels deep; the limit is ${maxDepth}`,
            ),
          );
        }
      },
    };
  };
}

function aliasRule(maxAliases: number): ValidationRule {
  return (context) => {
    let aliases = 0;
    return {
      Field(field) {
        if (field.alias !== undefined) aliases += 1;
      },
      Document: {
        leave() {
          if (aliases > maxAliases) {
            context.reportError(
              limitError(
                QueryLimitReason.ALIAS_LIMIT,
                maxAliases,
                `The query uses ${aliases} aliases; the limit is ${maxAliases}`,
              ),
            );
          }
        },
      },
    };
  };
}

function duplicateFieldRule(maxDuplicates: number): ValidationRule {
  return (context) => {
    let reported = false;
    return {
      SelectionSet(set) {
        if (reported) return;
        const counts = new Map<string, number>();
        for (const selection of set.selections) {
          if (selection.kind !== Kind.FIELD) continue;
          const key = selection.alias?.value ?? selection.name.value;
          const count = (counts.get(key) ?? 0) + 1;
          counts.set(key, count);
          if (count > maxDuplicates) {
            reported = true;
            context.reportError(
              limitError(
                QueryLimitReason.DUPLICATE_FIELD_LIMIT,
                maxDuplicates,
                `"${key}" is selected more than ${maxDuplicates} times in one selection set`,
              ),
            );
            return;
          }
        }
      },
    };
  };
}

function directiveRule(maxDirectives: number): ValidationRule {
  return (context) => {
    let directives = 0;
    return {
      Directive() {
        directives += 1;
      },
      Document: {
        leave() {
          if (directives > maxDirectives) {
            context.reportError(
              limitError(
                QueryLimitReason.DIRECTIVE_LIMIT,
                maxDirectives,
                `The query uses ${directives} directives; the limit is ${maxDirectives}`,
              ),
            );
          }
        },
      },
    };
  };
}

/** Refuses `__schema` and `__type` anywhere in a document (`__typename` stays allowed). */
export function createIntrospectionRule(): ValidationRule {
  return (context) => ({
    Field(field) {
      if (!isIntrospectionRoot(field.name.value)) return;
      context.reportError(
        new GraphQLError('Introspection is turned off on this server (INTROSPECTION=false)', {
          nodes: [field],
          extensions: {
            code: 'GRAPHQL_VALIDATION_FAILED',
            field: field.name.value,
            reason: QueryLimitReason.INTROSPECTION_DISABLED,
            http: { status: 400 },
          },
        }),
      );
    },
  });
}

/** Validation rules for the limits that depend only on the document; Apollo caches their verdict. */
export function createQueryLimitRules(limits: GraphQLLimits): ValidationRule[] {
  return [
    depthRule(limits.maxDepth),
    aliasRule(limits.maxAliases),
    duplicateFieldRule(limits.maxDuplicateFields),
    directiveRule(limits.maxDirectives),
  ];
}

function listLength(value: ValueNode, variables: Record<string, unknown>): number | undefined {
  if (value.kind === Kind.LIST) return value.values.length;
  if (value.kind === Kind.VARIABLE) {
    const bound = variables[value.name.value];
    return Array.isArray(bound) ? bound.length : undefined;
  }
  return undefined;
}

/** A field that returns a page: where its page size `first` is given, and how large a page is without it. */
export interface PagedField {
  /** The argument holding `first`: `first` itself, or an input object (`input`) with a `first` field. */
  readonly argument: string;
  readonly inInput: boolean;
  readonly defaultSize: number;
}

/** The fields of `schema` that take a page size `first` with a default (`searchUsers(input: { first })`), by name. */
export function pagedFieldsOf(schema: GraphQLSchema): ReadonlyMap<string, PagedField> {
  const paged = new Map<string, PagedField>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      for (const argument of field.args) {
        const input = getNamedType(argument.type);
        const first =
          argument.name === 'first'
            ? { inInput: false, defaultValue: argument.defaultValue }
            : isInputObjectType(input) && input.getFields().first !== undefined
              ? { inInput: true, defaultValue: input.getFields().first.defaultValue }
              : undefined;
        if (first !== undefined && typeof first.defaultValue === 'number' && !paged.has(field.name)) {
          paged.set(field.name, { argument: argument.name, inInput: first.inInput, defaultSize: first.defaultValue });
        }
      }
    }
  }
  return paged;
}

/** The page size a paged field asks for; its default when it gives none that is a positive number. */
function pageSizeOf(field: FieldNode, paged: PagedField, variables: Record<string, unknown>): number {
  const argument = field.arguments?.find((candidate) => candidate.name.value === paged.argument);
  let value = argument === undefined ? undefined : valueFromASTUntyped(argument.value, variables);
  if (paged.inInput)
    value = value !== null && typeof value === 'object' ? (value as { first?: unknown }).first : undefined;
  return typeof value === 'number' && Number.isFinite(value) && value >= 1 ? value : paged.defaultSize;
}

/**
 * The cost of an operation: every field costs 1 plus its sub-selection, and a field given a list
 * argument (`users(ids:)`, `_entities(representations:)`) costs that much once per list entry; a
 * paged field (`pagedFieldsOf`) costs that much once per user of the page it asks for.
 */
export function operationCost(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
  pagedFields: ReadonlyMap<string, PagedField> = new Map(),
): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const fragmentCost = perFragment(
    (name) => fragments.get(name),
    (set) => selectionCost(set),
  );
  const selectionCost = (set: SelectionSetNode | undefined): number => {
    if (set === undefined) return 0;
    let cost = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        if (isIntrospectionRoot(selection.name.value)) continue;
        let multiplier = 1;
        for (const argument of selection.arguments ?? []) {
          const length = listLength(argument.value, variables);
          if (length !== undefined && length > multiplier) multiplier = length;
        }
        const paged = pagedFields.get(selection.name.value);
        if (paged !== undefined) multiplier = Math.max(multiplier, pageSizeOf(selection, paged, variables));
        cost += multiplier * (1 + selectionCost(selection.selectionSet));
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        cost += selectionCost(selection.selectionSet);
      } else {
        cost += fragmentCost(selection.name.value);
      }
    }
    return cost;
  };
  return selectionCost(operation.selectionSet);
}
