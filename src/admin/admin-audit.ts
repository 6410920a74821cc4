import { GraphQLError } from 'graphql';
import type { Pool, PoolClient } from 'pg';
import type { Viewer } from '../auth/viewer.js';
import { ErrorCode, ErrorReason, ForbiddenError } from '../errors.js';
import { inTransactionScope, runAfterCommit, type TransactionScope } from '../db/transaction.js';
import { AuditOutcome } from './admin-audit.entity.js';

export interface AuditedAction {
  readonly operation: string;
  readonly subjects: readonly string[];
  readonly fields: readonly string[];
}

const MAX_SUBJECTS = 100;
const MAX_TEXT = 64;

/** Input echoed into the audit row is bounded and stripped of characters Postgres text refuses. */
function clean(values: readonly string[]): string[] {
  return values.slice(0, MAX_SUBJECTS).map((value) => value.replace(/\p{Cc}/gu, '\uFFFD').slice(0, MAX_TEXT));
}

function outcomeOf(error: unknown): { outcome: AuditOutcome; code: string; reason: string | null } {
  if (error instanceof GraphQLError) {
    const code = String(error.extensions.code ?? '');
    const reason = error.extensions.reason === undefined ? null : String(error.extensions.reason);
    if (code === ErrorCode.FORBIDDEN) return { outcome: AuditOutcome.FORBIDDEN, code, reason };
    if (code === ErrorCode.BAD_USER_INPUT) return { outcome: AuditOutcome.REJECTED, code, reason };
  }
  return { outcome: AuditOutcome.FAILED, code: ErrorCode.INTERNAL_SERVER_ERROR, reason: null };
}

/**
 * Writes the audit trail of administrative operations (one INSERT per operation). An operation's
 * statements made through its TransactionScope commit in one transaction with its SUCCEEDED row;
 * refusals and failures are recorded after the rollback.
 */
export class AdminAudit {
  constructor(private readonly pool: Pool) {}

  /**
   * Runs `work` for an administrator and records the outcome; a caller who is not an
   * administrator is refused with FORBIDDEN, and that refusal is recorded too.
   */
  async run<T>(viewer: Viewer, action: AuditedAction, work: (scope: TransactionScope) => Promise<T>): Promise<T> {
    if (!viewer.isAdmin) {
      const refusal = new ForbiddenError(ErrorReason.ADMIN_ONLY, `${action.operation} is for administrators only`);
      await this.record(this.pool, viewer, action, outcomeOf(refusal));
      throw refusal;
    }
    // A change made through `scope` commits with its audit row: if the row cannot be written, nothing changed.
    const done = await inTransactionScope(this.pool, async (scope) => {
      const result = await work(scope);
      await this.record(scope.client, viewer, action, { outcome: AuditOutcome.SUCCEEDED, code: null, reason: null });
      return result;
    }).catch(async (error: unknown) => {
      // Rolled back; the failure is recorded on its own.
      await this.record(this.pool, viewer, action, outcomeOf(error));
      throw error;
    });
    await runAfterCommit(done.afterCommit);
    return done.result;
  }

  private async record(
    connection: Pool | PoolClient,
    viewer: Viewer,
    action: AuditedAction,
    result: { outcome: AuditOutcome; code: string | null; reason: string | null },
  ): Promise<void> {
    await connection.query({
      name: 'admin_audit_insert',
      text: `INSERT INTO admin_audit (actor_id, actor_is_admin, operation, subjects, fields, outcome, error_code, error_reason)
        VALUES ($1, $2, $3, $4::text[], $5::text[], $6::admin_audit_outcome, $7, $8)`,
      values: [
        viewer.userID,
        viewer.isAdmin,
        action.operation,
        clean(action.subjects),
        clean(action.fields),
        result.outcome,
        result.code,
        result.reason,
      ],
    });
  }
}
