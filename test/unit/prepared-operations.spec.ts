import { parse, type OperationDefinitionNode } from 'graphql';
import type { CompiledQuery } from 'graphql-jit';
import { PreparedOperations, type PreparedOperation } from '../../src/execution/prepared-operations';

function prepared(query: string): PreparedOperation {
  const document = parse(query);
  return { document, operation: document.definitions[0] as OperationDefinitionNode, compiled: {} as CompiledQuery };
}

describe('PreparedOperations', () => {
  it('finds an operation by its exact text and operation name only', () => {
    const operations = new PreparedOperations();
    const me = prepared('query Me { me { userID } }');
    operations.remember('query Me { me { userID } }', 'Me', me);
    expect(operations.get('query Me { me { userID } }', 'Me')).toBe(me);
    expect(operations.get('query Me { me { userID } }', null)).toBeUndefined();
    expect(operations.get('query Me { me { userID }}', 'Me')).toBeUndefined();
  });

  it('never keeps a long text, and forgets the oldest past the entry or length bound', () => {
    const text = (i: number, length = 40) => `{ me { userID } } # ${String(i).padEnd(length - 20, '.')}`;
    const kept = (operations: PreparedOperations, texts: string[]) =>
      texts.map((query) => operations.get(query, null) !== undefined);

    const byCount = new PreparedOperations({ maxEntries: 3, maxQueryLength: 100, maxTotalLength: 10_000 });
    byCount.remember(text(0, 101), null, prepared(text(0, 101)));
    expect(byCount.size).toBe(0);
    for (let i = 1; i <= 4; i += 1) byCount.remember(text(i), null, prepared(text(i)));
    expect(kept(byCount, [text(1), text(2), text(3), text(4)])).toEqual([false, true, true, true]);

    const byLength = new PreparedOperations({ maxEntries: 10, maxQueryLength: 100, maxTotalLength: 200 });
    for (let i = 1; i <= 4; i += 1) byLength.remember(text(i), null, prepared(text(i)));
    // 4 x 40 + 100 characters is over 200: the two oldest go.
    byLength.remember(text(5, 100), null, prepared(text(5, 100)));
    expect(kept(byLength, [text(1), text(2), text(3), text(4), text(5, 100)])).toEqual([
      false,
      false,
      true,
      true,
      true,
    ]);
  });
});
