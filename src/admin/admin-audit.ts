import { GraphQLError } from 'graphql';
import type { Pool, PoolClient, QueryConfig } from 'pg';
import type { Viewer } from '../auth/viewer.js';
import { ErrorCode, ErrorReason, ForbiddenError } from '../errors.js';
import { mapDatabaseError } from '../db/database-errors.js';
import {
  inTransactionScope,
  onConnection,
  runAfterCommit,
  type Connection,
  type TransactionScope,
} from '../db/transaction.js';
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

type AuditResult = { outcome: AuditOutcome; code: string | null; reason: string | null };

const SUCCEEDED: AuditResult = { outcome: AuditOutcome.SUCCEEDED, code: null, reason: null };

function outcomeOf(error: unknown): AuditResult {
  if (error instanceof GraphQLError) {
    const code = String(error.extensions.code ?? '');
    const reason = error.extensions.reason === undefined ? null : String(error.extensions.reason);
    if (code === ErrorCode.FORBIDDEN) return { outcome: AuditOutcome.FORBIDDEN, code, reason };
    if (code === ErrorCode.BAD_USER_INPUT) return { outcome: AuditOutcome.REJECTED, code, reason };
    if (code === ErrorCode.SERVICE_UNAVAILABLE) return { outcome: AuditOutcome.FAILED, code, reason: null };
  }
  return { outcome: AuditOutcome.FAILED, code: ErrorCode.INTERNAL_SERVER_ERROR, reason: null };
}

const COLUMNS = 'actor_id, actor_is_admin, operation, subjects, fields, outcome, error_code, error_reason';
const VALUES = '$1, $2, $3, $4::text[], $5::text[], $6::admin_audit_outcome, $7, $8';

const RECORD: Omit<QueryConfig, 'values'> = {
  name: 'admin_audit_insert',
  text: `INSERT INTO admin_audit (${COLUMNS}) VALUES (${VALUES})`,
};

/** A refusal's repeats within its minute count on its row (see the partial unique index admin_audit_refusal_key). */
const RECORD_REFUSAL: Omit<QueryConfig, 'values'> = {
  name: 'admin_audit_refusal',
  text: `INSERT INTO admin_audit (${COLUMNS}, refused_minute) VALUES (${VALUES}, date_trunc('minute', now()))
    ON CONFLICT (actor_id, operation, refused_minute) WHERE refused_minute IS NOT NULL
    DO UPDATE SET attempts = admin_audit.attempts + 1`,
};

/**
 * Writes the audit trail of administrative operations. An operation runs on one pool connection:
 * its statements made through its TransactionScope commit in one transaction with its SUCCEEDED
 * row; failures are recorded after the rollback, on the same connection. A non-administrator's
 * refusal is one statement, and its repeats within a minute count on one row, so no caller grows
 * the table by more than one row per operation and minute.
 */
export class AdminAudit {
  constructor(private readonly pool: Pool) {}

  /**
   * Runs `work` for an administrator and records the outcome; a caller who is not an
   * administrator is refused with FORBIDDEN, and that refusal is recorded too. Database errors are
   * answered as everywhere else (SERVICE_UNAVAILABLE when it is down or too slow); when no
   * connection can be had, nothing is recorded.
   */
  async run<T>(viewer: Viewer, action: AuditedAction, work: (scope: TransactionScope) => Promise<T>): Promise<T> {
    try {
      if (!viewer.isAdmin) {
        const refusal = new ForbiddenError(ErrorReason.ADMIN_ONLY, `${action.operation} is for administrators only`);
        await this.record(this.pool, RECORD_REFUSAL, viewer, action, outcomeOf(refusal));
        throw refusal;
      }
      const done = await onConnection(this.pool, (connection) => this.carryOut(connection, viewer, action, work));
      await runAfterCommit(done.afterCommit);
      return done.result;
    } catch (error) {
      throw mapDatabaseError(error);
    }
  }

  private async carryOut<T>(
    connection: Connection,
    viewer: Viewer,
    action: AuditedAction,
    work: (scope: TransactionScope) => Promise<T>,
  ) {
    try {
      // A change made through `scope` commits with its audit row: if the row cannot be written, nothing changed.
      return await inTransactionScope(connection, async (scope) => {
        const result = await work(scope);
        await this.record(connection.client, RECORD, viewer, action, SUCCEEDED);
        return result;
      });
    } catch (error) {
      const answer = mapDatabaseError(error);
      // Rolled back; the failure is recorded on its own.
      await this.record(connection.client, RECORD, viewer, action, outcomeOf(answer));
      throw answer;
    }
  }

  private async record(
    connection: Pool | PoolClient,
    statement: Omit<QueryConfig, 'values'>,
    viewer: Viewer,
    action: AuditedAction,
    result: AuditResult,
  ): Promise<void> {
    await connection.query({
      ...statement,
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
