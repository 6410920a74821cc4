import type { AdminAudit } from '../../admin/admin-audit.js';
import type { Viewer } from '../../auth/viewer.js';
import type { CustomFieldRepository } from '../../custom-field/custom-field.repository.js';
import { BadUserInputError, ErrorReason } from '../../errors.js';
import type { Outbox } from '../../events/outbox.repository.js';
import { AccountBulkRepository, encodeStagedRow } from './account-bulk.repository.js';
import { ImportRowChecker, RowRefusal, WHOLE_ROW } from './account-import.rules.js';
import type { BulkFormat } from './bulk-format.model.js';
import type { Progress } from './progress.js';
import { FileSyntaxError, readRows, sniffLayout, type SourceRow } from './row-source.js';

export interface ImportRequest {
  /** The file's bytes. */
  readonly input: AsyncIterable<Buffer>;
  /** The file's size, for the percentage and the time left; unknown for a pipe. */
  readonly size?: number;
  /** Unset: found from the file's first row. */
  readonly format?: BulkFormat;
  /** Import the good rows and list the bad ones, instead of importing nothing when a row is bad. */
  readonly skipInvalid: boolean;
  /** Define the custom field keys rows use that the registry does not hold. */
  readonly defineCustomFields: boolean;
  /** Who the change events name as the operator. */
  readonly operator: string;
  /** Rows merged per statement (DEFAULT_BATCH_ROWS). */
  readonly batchRows?: number;
}

export interface ImportSummary {
  readonly format: BulkFormat;
  /** Rows in the file (blank lines are none). */
  readonly rows: number;
  readonly created: number;
  readonly changed: number;
  readonly unchanged: number;
  /** Bad rows left out (with skipInvalid). */
  readonly skipped: number;
  /** Outbox events written: one per existing account whose values changed. */
  readonly events: number;
  readonly definedCustomFields: readonly string[];
}

/** Some rows were bad and nothing was imported; each was reported as it was found. */
export class ImportRefusedError extends BadUserInputError {
  constructor(
    readonly badRows: number,
    reason: ErrorReason,
  ) {
    super('file', reason, `${badRows} bad row${badRows === 1 ? '' : 's'}: nothing was imported`);
  }
}

/** Rows merged by one statement: big enough that statements are few, small enough to overlap the reading. */
export const DEFAULT_BATCH_ROWS = 100_000;

/** Staged rows as COPY text, merged together. */
interface StagedBatch {
  /** As bytes: off the JavaScript heap, so a batch waiting its turn costs the collector nothing. */
  readonly texts: Buffer[];
  rows: number;
}

/** A statement that lost every race this many times in a row gives up (nothing is written). */
const MAX_MERGE_PASSES = 10;

/** The first row's keys tell the format of a JSON Lines file. */
function formatOfRow(value: unknown): 'profile' | 'tencent' {
  if (typeof value === 'object' && value !== null && ('To_Account' in value || 'From_Account' in value)) {
    return 'tencent';
  }
  return 'profile';
}

/** The first chunk, and all of them (the first included). */
async function peek(input: AsyncIterable<Buffer>): Promise<{ head: Buffer; chunks: AsyncIterable<Buffer> }> {
  const iterator = input[Symbol.asyncIterator]();
  const first = await iterator.next();
  const head = first.done === true ? Buffer.alloc(0) : first.value;
  async function* chunks(): AsyncGenerator<Buffer> {
    if (first.done === true) return;
    yield head;
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) yield next.value;
  }
  return { head, chunks: chunks() };
}

/**
 * `npm run accounts -- import`: reads a file of profiles, checks every row with the rules of
 * updateMyProfile, and merges the good ones into user_profile in one transaction, a batch at a
 * time: COPY into a staging table, then one set-based statement (AccountBulkRepository.merge),
 * while the next batch is read. Named fields are set and absent ones left alone, so a second run
 * of the same file changes nothing. Audited as `bulkImportAccounts`; the audit row commits with
 * the import.
 */
export class AccountImportService {
  constructor(
    private readonly audit: AdminAudit,
    private readonly customFields: CustomFieldRepository,
    private readonly outbox: Pick<Outbox, 'relayOwner' | 'webhookPending'>,
    private readonly maxDefinitions: number,
    private readonly progress: Progress,
  ) {}

  async run(request: ImportRequest): Promise<ImportSummary> {
    const operator: Viewer = { userID: request.operator, isAdmin: true };
    const action = { operation: 'bulkImportAccounts', subjects: [], fields: [] };
    const progress = this.progress;
    return this.audit.run(operator, action, async (scope) => {
      const definitions = new Map((await this.customFields.listAll()).map((d) => [d.key, d]));
      const checker = new ImportRowChecker(definitions, {
        defineMissing: request.defineCustomFields,
        room: Math.max(0, this.maxDefinitions - definitions.size),
      });
      const repository = new AccountBulkRepository(scope.client);
      await repository.createStaging();

      const { head, chunks } = await peek(request.input);
      const layout =
        request.format === 'portrait_get'
          ? 'answers'
          : request.format !== undefined
            ? 'lines'
            : sniffLayout(head.subarray(0, 4096).toString('utf8'));
      let format: BulkFormat | undefined = layout === 'answers' ? 'portrait_get' : request.format;
      let rows = 0;
      let bad = 0;
      let firstReason: ErrorReason | undefined;
      const report = (line: number, field: string, reason: ErrorReason, detail: string) => {
        bad += 1;
        firstReason ??= reason;
        progress.message(
          `${request.skipInvalid ? 'skipped' : 'bad'} line ${line}, field ${field}: ${reason} (${detail})`,
        );
      };
      const stage = (row: SourceRow): string => {
        rows += 1;
        if (row.malformed !== undefined) {
          report(row.line, WHOLE_ROW, row.malformed.reason, row.malformed.detail);
          return '';
        }
        format ??= formatOfRow(row.value);
        try {
          const { userID, patch } = checker.check(format === 'profile' ? 'profile' : 'tencent', row.value);
          return encodeStagedRow(row.line, userID, patch);
        } catch (error) {
          if (!(error instanceof RowRefusal)) throw error;
          report(row.line, error.field, error.reason, error.detail);
          return '';
        }
      };
      const idField = () => (format === 'profile' || format === undefined ? 'userID' : 'To_Account');
      let bytes = 0;
      let endMerge: ((what: string) => void) | undefined;
      const batchRows = request.batchRows ?? DEFAULT_BATCH_ROWS;
      /** The file as batches of staged rows (COPY text), read and checked one batch ahead of the writes. */
      async function* batches(): AsyncGenerator<StagedBatch> {
        let batch: StagedBatch = { texts: [], rows: 0 };
        for await (const sourceRows of readRows(chunks, layout, (read) => (bytes = read))) {
          let text = '';
          for (const row of sourceRows) {
            const line = stage(row);
            if (line === '') continue;
            text += line;
            batch.rows += 1;
            if (batch.rows >= batchRows) {
              batch.texts.push(Buffer.from(text));
              text = '';
              yield batch;
              batch = { texts: [], rows: 0 };
            }
          }
          if (text !== '') batch.texts.push(Buffer.from(text));
          progress.update(rows, bytes);
        }
        progress.finish(`${count(rows)} rows read, ${count(bad)} bad`);
        if (bad === 0 || request.skipInvalid) {
          endMerge = progress.wait('merge', `${count(rows - bad)} rows into user_profile`);
        }
        if (batch.rows > 0) yield batch;
      }

      let created = 0;
      let changed = 0;
      let events = 0;
      const write = async (batch: StagedBatch) => {
        await repository.copyIntoStaging(batch.texts);
        if ((await repository.recordFirstLines()) < batch.rows) {
          for await (const duplicates of repository.duplicateLines()) {
            for (const duplicate of duplicates) {
              report(
                duplicate.line,
                idField(),
                ErrorReason.DUPLICATE_KEY,
                `names the account line ${duplicate.first} names`,
              );
            }
          }
          await repository.dropDuplicateLines();
        }
        // Once a row is bad, nothing will be written: the rest is only read, to report every bad row.
        if (bad > 0 && !request.skipInvalid) return repository.clearStaging();
        for (let pass = 1; ; pass += 1) {
          const counts = await repository.merge(request.operator, this.outbox);
          created += counts.created;
          changed += counts.changed;
          events += counts.events;
          // Rows another writer changed or created after this pass's snapshot: the next pass sees them.
          if (counts.candidates === counts.changed && counts.fresh === counts.created) break;
          if (pass === MAX_MERGE_PASSES) {
            throw new Error(
              `profiles kept changing under the import (${MAX_MERGE_PASSES} passes); nothing was imported`,
            );
          }
        }
        await repository.clearStaging();
      };

      progress.start('read', request.size === undefined ? undefined : { amount: request.size, unit: 'bytes' });
      // Postgres merges one batch while Node reads and checks the next: the two work at once.
      const reader = batches();
      let next = reader.next();
      try {
        for (;;) {
          const { value: batch, done } = await next;
          if (done === true) break;
          next = reader.next();
          // A failure of the read ahead is handled once this batch is written and it is awaited.
          next.catch(() => undefined);
          await write(batch);
        }
      } catch (error) {
        void reader.return(undefined).catch(() => undefined);
        if (!(error instanceof FileSyntaxError)) throw error;
        progress.finish(`${rows} rows read before line ${error.line}`);
        report(
          error.line,
          WHOLE_ROW,
          ErrorReason.INVALID_VALUE,
          `${error.message}; the rest of the file cannot be read`,
        );
        throw new ImportRefusedError(bad, ErrorReason.INVALID_VALUE);
      }
      if (bad > 0 && !request.skipInvalid) {
        // The last batch's duplicates came after the merge began.
        endMerge?.('stopped: bad rows');
        throw new ImportRefusedError(bad, firstReason!);
      }

      const definedCustomFields = checker.keysToDefine;
      for (const key of definedCustomFields) {
        const result = await this.customFields.define({ key }, this.maxDefinitions, scope);
        if ('limitReached' in result) {
          throw new BadUserInputError(
            key,
            ErrorReason.LIMIT_REACHED,
            `${key} cannot be defined: the custom field registry became full while the file was read; nothing was imported`,
          );
        }
      }
      endMerge?.(`${count(created)} created, ${count(changed)} changed`);
      return {
        format: format ?? 'profile',
        rows,
        created,
        changed,
        unchanged: rows - bad - created - changed,
        skipped: bad,
        events,
        definedCustomFields,
      };
    });
  }
}

const count = (value: number): string => value.toLocaleString('en-US');
