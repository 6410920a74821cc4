import type { DocumentNode, ExecutionResult, OperationDefinitionNode } from 'graphql';
import type { CompiledQuery } from 'graphql-jit';
import { contextSlot } from '../context-slot.js';

/** An operation Apollo has parsed, validated and handed to the compiled executor at least once. */
export interface PreparedOperation {
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  readonly compiled: CompiledQuery;
}

/**
 * Operations known to be valid, by the exact query text and operation name a client sent. Apollo
 * fills its own document cache the same way (validation depends only on the text); this one also
 * holds the compiled query, so a repeated request can skip Apollo's request pipeline (see
 * fast-path.ts). Bounded, since clients choose the texts: a text longer than `maxQueryLength` is
 * never kept (hot operations are short; a long one may carry a megabyte string literal), and past
 * `maxEntries` texts or `maxTotalLength` characters the oldest are forgotten.
 */
export class PreparedOperations {
  private readonly byQuery = new Map<string, Map<string | null, PreparedOperation>>();
  private totalLength = 0;

  constructor(private readonly limits = { maxEntries: 500, maxQueryLength: 16 * 1024, maxTotalLength: 1024 * 1024 }) {}

  get(query: string, operationName: string | null): PreparedOperation | undefined {
    return this.byQuery.get(query)?.get(operationName);
  }

  remember(query: string, operationName: string | null, prepared: PreparedOperation): void {
    if (query.length > this.limits.maxQueryLength) return;
    let byName = this.byQuery.get(query);
    if (byName === undefined) {
      this.totalLength += query.length;
      this.byQuery.set(query, (byName = new Map()));
      for (const oldest of this.byQuery.keys()) {
        if (this.byQuery.size <= this.limits.maxEntries && this.totalLength <= this.limits.maxTotalLength) break;
        this.byQuery.delete(oldest);
        this.totalLength -= oldest.length;
      }
    }
    byName.set(operationName, prepared);
  }

  get size(): number {
    return this.byQuery.size;
  }
}

/**
 * What the fast path already did for a request it hands on to Apollo, so that nothing happens
 * twice: the gate's admission verdict (writes counted once), and the result of an execution whose
 * errors Apollo formats (a mutation must not run again).
 */
export interface EarlyWork {
  admission?: { readonly refusal?: unknown };
  result?: ExecutionResult;
}

const earlyWorkSlot = contextSlot<EarlyWork>('earlyWork');

export const attachEarlyWork = earlyWorkSlot.attach;
export const earlyWorkOf = earlyWorkSlot.of;
