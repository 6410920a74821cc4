import { Transform, type TransformCallback, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AdminAudit } from '../../admin/admin-audit.js';
import type { Viewer } from '../../auth/viewer.js';
import type { CustomFieldRepository } from '../../custom-field/custom-field.repository.js';
import { AccountBulkRepository } from './account-bulk.repository.js';
import type { BulkFormat } from './bulk-format.model.js';
import type { Progress } from './progress.js';

export interface ExportRequest {
  readonly format: BulkFormat;
  readonly output: Writable;
  /** End `output` when done (false for standard output). */
  readonly endOutput: boolean;
  /** Who the audit row names. */
  readonly operator: string;
}

export interface ExportSummary {
  readonly format: BulkFormat;
  readonly rows: number;
}

const NEWLINE = 0x0a;
const ANSWER_HEAD = Buffer.from(
  '{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","ErrorDisplay":"","UserProfileItem":[\n',
);
const ITEM_SEPARATOR = Buffer.from(',\n');
const ANSWER_TAIL = Buffer.from('\n]}\n');

/** Counts the rows going by (one per newline). */
class RowCounter extends Transform {
  rows = 0;

  constructor(private readonly onRows: (rows: number) => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    for (let at = chunk.indexOf(NEWLINE); at >= 0; at = chunk.indexOf(NEWLINE, at + 1)) this.rows += 1;
    this.onRows(this.rows);
    done(null, chunk);
  }
}

/**
 * Wraps one item per line into a whole portrait_get answer: the answer's head, a comma after every
 * item but the last, and its tail. The last line's newline is held back until the next item (or
 * the end) says whether a comma goes before it.
 */
class AnswerWrapper extends Transform {
  private started = false;
  private pendingNewline = false;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const parts: Buffer[] = [];
    if (!this.started) {
      this.started = true;
      parts.push(ANSWER_HEAD);
    }
    if (this.pendingNewline) parts.push(ITEM_SEPARATOR);
    this.pendingNewline = chunk.length > 0 && chunk[chunk.length - 1] === NEWLINE;
    const end = this.pendingNewline ? chunk.length - 1 : chunk.length;
    let start = 0;
    for (let at = chunk.indexOf(NEWLINE); at >= 0 && at < end; at = chunk.indexOf(NEWLINE, at + 1)) {
      parts.push(chunk.subarray(start, at), ITEM_SEPARATOR);
      start = at + 1;
    }
    parts.push(chunk.subarray(start, end));
    done(null, Buffer.concat(parts));
  }

  override _flush(done: TransformCallback): void {
    done(null, Buffer.concat([this.started ? Buffer.alloc(0) : ANSWER_HEAD, ANSWER_TAIL]));
  }
}

/**
 * `npm run accounts -- export`: every profile, as an administrator reads it (standard fields,
 * every defined and not retired custom field, PRIVATE ones included), streamed by COPY from one
 * snapshot. Audited as `bulkExportAccounts`.
 */
export class AccountExportService {
  constructor(
    private readonly audit: AdminAudit,
    private readonly customFields: CustomFieldRepository,
    private readonly progress: Progress,
  ) {}

  async run(request: ExportRequest): Promise<ExportSummary> {
    const operator: Viewer = { userID: request.operator, isAdmin: true };
    const action = { operation: 'bulkExportAccounts', subjects: [], fields: [] };
    return this.audit.run(operator, action, async (scope) => {
      // The count and the rows from one snapshot, so the percentage ends at 100.
      await scope.client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      await scope.client.query('SET LOCAL statement_timeout = 0');
      const repository = new AccountBulkRepository(scope.client);
      const total = await repository.countProfiles();
      const keys = (await this.customFields.listAll()).filter((d) => !d.retired).map((d) => d.key);
      this.progress.start('export', { amount: total, unit: 'rows' });
      const counter = new RowCounter((rows) => this.progress.update(rows));
      const lines = repository.exportLines(request.format, keys);
      const stages = request.format === 'portrait_get' ? [counter, new AnswerWrapper()] : [counter];
      await pipeline([lines, ...stages, request.output], { end: request.endOutput });
      this.progress.finish(`${counter.rows.toLocaleString('en-US')} profiles written`);
      return { format: request.format, rows: counter.rows };
    });
  }
}
