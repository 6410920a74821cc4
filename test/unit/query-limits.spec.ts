import { parse, type OperationDefinitionNode } from 'graphql';
import { operationCost } from '../../src/limits/query-limits';

function cost(query: string, variables: Record<string, unknown> = {}): number {
  const document = parse(query);
  const operation = document.definitions.find((d) => d.kind === 'OperationDefinition') as OperationDefinitionNode;
  return operationCost(document, operation, variables);
}

describe('operationCost', () => {
  it('counts each field once, and a list argument once per entry', () => {
    expect(cost('{ me { userID nick } }')).toBe(3);
    expect(cost('query($ids: [ID!]!) { users(ids: $ids) { userID nick } }', { ids: ['a', 'b', 'c'] })).toBe(9);
    expect(cost('{ users(ids: ["a", "b"]) { userID } }')).toBe(4);
  });

  it('counts a fragment at every spread, through nested fragments and inline fragments', () => {
    const query = `query($ids: [ID!]!) {
      me { ...Profile }
      users(ids: $ids) { ...Profile ... on User { nick } }
    }
    fragment Profile on User { userID ...Custom }
    fragment Custom on User { profileCustomField { key value } }`;
    // Profile = userID (1) + Custom (1 + 2) = 4; me = 1 + 4; users = 2 x (1 + 4 + 1).
    expect(cost(query, { ids: ['a', 'b'] })).toBe(5 + 12);
  });

  it('counts a fragment cycle (refused by validation) as 0 rather than looping', () => {
    expect(cost('{ me { ...A } } fragment A on User { nick ...B } fragment B on User { ...A }')).toBe(2);
  });
});
