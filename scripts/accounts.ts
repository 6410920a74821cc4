import 'reflect-metadata';
import { createReadStream, createWriteStream, rmSync, type WriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AccountExportService } from '../src/account/bulk/account-export.service.js';
import {
  AccountImportService,
  DEFAULT_BATCH_ROWS,
  ImportRefusedError,
  type ImportSummary,
} from '../src/account/bulk/account-import.service.js';
import { BULK_FORMATS, isBulkFormat, type BulkFormat } from '../src/account/bulk/bulk-format.model.js';
import { Progress } from '../src/account/bulk/progress.js';
import { AdminAudit } from '../src/admin/admin-audit.js';
import { ConfigError, loadConfig, loadEnvFile, type Config } from '../src/config.js';
import { CustomFieldRepository } from '../src/custom-field/custom-field.repository.js';
import { openDatabase, type Database } from '../src/db/database.js';
import { DETACHED_OUTBOX } from '../src/events/outbox.repository.js';
import { validateUserID } from '../src/shared/input-rules.js';
import { PROFILE_FIELDS, STANDARD_FIELDS } from '../src/user/profile-fields.js';

/** Exit codes, as --help lists them. */
const EXIT = { done: 0, failed: 1, usage: 2, badRows: 3 } as const;

const DEFAULT_OPERATOR = 'accounts-command';

const tags = STANDARD_FIELDS.map((field) => {
  const spec = PROFILE_FIELDS[field];
  const values = spec.kind === 'enum' ? ` (${Object.values(spec.tencentValues).join(', ')})` : '';
  return `${spec.tencentTag}${values}`;
});

/** `items` joined by commas, in lines of at most 100 characters indented by `indent`. */
function wrap(items: readonly string[], indent: number): string {
  const lines = [''];
  for (const item of items) {
    const last = lines.length - 1;
    const next = lines[last] === '' ? item : `${lines[last]}, ${item}`;
    if (indent + 6 + next.length > 100 && lines[last] !== '') lines.push(item);
    else lines[last] = next;
  }
  return lines.join(`,\n${' '.repeat(indent)}`);
}

const HELP = `Bulk import and export of accounts and their profiles.

Usage:
  npm run accounts -- import FILE [--format FORMAT] [--skip-invalid] [--define-custom-fields] [--operator ID] [--batch-rows N]
  npm run accounts -- export FILE [--format FORMAT] [--operator ID]
  npm run accounts -- --help

FILE "-" is standard input (import) or standard output (export).

import FILE
  Creates the accounts the file names that do not exist, and sets the fields each row gives on
  those that do; fields a row leaves out are left as they are (their defaults on a new account).
  A custom field given "" is removed. Every row is checked with the rules of updateMyProfile, with
  an administrator's rights (adminForbidType and ADMIN custom fields may be set): custom field keys
  must be defined and not retired, values within their limits. A bad row is listed with its line,
  field and reason (the reasons the API gives: TOO_LONG, INVALID_VALUE, UNKNOWN_CUSTOM_FIELD, ...);
  malformed JSON, a row of another format and an account named twice are bad rows too. The import
  is one transaction: by default nothing is written when any row is bad. Running the same file
  again changes nothing (no write, no event, every row counted unchanged). Account state is never
  changed: a deactivated account stays deactivated.

  --format FORMAT          profile, tencent or portrait_get; when left out, the first row tells
  --skip-invalid           import the good rows, and list the bad ones as skipped
  --define-custom-fields   define the custom field keys rows use that are not defined, as
                           defineProfileCustomField with only the key does (maxBytes 500, PUBLIC,
                           OWNER), in the same transaction; within PROFILE_CUSTOM_FIELD_LIMIT
  --operator ID            who the change events and the audit row name (default ${DEFAULT_OPERATOR})
  --batch-rows N           rows merged by one statement (default ${DEFAULT_BATCH_ROWS}): Postgres merges
                           one batch while the next is read; the whole import is still one
                           transaction

export FILE
  Writes every account as an administrator reads it (PRIVATE custom fields included, retired and
  undefined ones left out), ordered by userID, from one snapshot; written to FILE only once
  complete.

  --format FORMAT          profile (the default), tencent or portrait_get
  --operator ID            who the audit row names (default ${DEFAULT_OPERATOR})

Formats
  profile        ${BULK_FORMATS.profile}:
                 {"userID":"alice","nick":"Alice","gender":"FEMALE","profileCustomField":[{"key":"Tag_Profile_Custom_Mood","value":"happy"}]}
                 Keys: ${wrap(['userID', ...STANDARD_FIELDS, 'profileCustomField'], 17)},
                 with the values of the GraphQL API (enums by name, numbers as numbers). An
                 export writes every key, and "accountStatus":"DEACTIVATED" for a deactivated
                 account; an import ignores accountStatus and lastUpdatedTime.
  tencent        ${BULK_FORMATS.tencent}:
                 {"To_Account":"alice","ProfileItem":[{"Tag":"Tag_Profile_IM_Nick","Value":"Alice"}]}
                 (an import also reads portrait_set's From_Account). Tags:
                 ${tags.join(',\n                 ')},
                 and the custom fields' own keys (Tag_Profile_Custom_*).
  portrait_get   ${BULK_FORMATS.portrait_get}:
                 {"ActionStatus":"OK","ErrorCode":0,"UserProfileItem":[{"To_Account":"alice","ProfileItem":[...],"ResultCode":0}]}
                 on one line or pretty-printed; each item is a row of the tencent format, and one
                 whose ResultCode is not 0 is a bad row. A bad row's line is the one it starts on.

Change events
  An existing account whose values change gets one change event (profileUpdated subscribers and
  the webhook hear of it, with --operator as the operator), written by the same statement as the
  change; an account the import creates gets none (as importAccounts), an unchanged one nothing.

Database
  DATABASE_URL; when it is unset, the embedded database (EMBEDDED_PG_DIR): the running server's
  when a server holds it, otherwise started for the duration of the command. Pending migrations
  are applied first (DB_MIGRATE=false turns that off). .env is read as npm start reads it.

Output
  Progress goes to standard error: a bar (rows, rows/s, time left) on a terminal, a plain line
  every 5 seconds otherwise, and a line as each step ends. Bad rows go to standard error as they
  are found. The summary (created, changed, unchanged, skipped) goes to standard output, or to
  standard error when the export writes to standard output.

Exit codes
  0  done (with --skip-invalid, also when rows were skipped)
  1  failed (the database, the file): nothing was imported
  2  a usage or configuration error (nothing was done)
  3  bad rows: nothing was imported (an import without --skip-invalid)
`;

class UsageError extends Error {}

interface Command {
  readonly name: 'import' | 'export';
  readonly file: string;
  readonly format: BulkFormat | undefined;
  readonly skipInvalid: boolean;
  readonly defineCustomFields: boolean;
  readonly operator: string;
  readonly batchRows: number;
}

function parseCommand(argv: string[]): Command | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        format: { type: 'string' },
        'skip-invalid': { type: 'boolean' },
        'define-custom-fields': { type: 'boolean' },
        operator: { type: 'string' },
        'batch-rows': { type: 'string' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help === true || positionals[0] === 'help') return 'help';
  const [name, file, ...extra] = positionals;
  if (name !== 'import' && name !== 'export') {
    throw new UsageError(name === undefined ? 'name a command: import or export' : `unknown command "${name}"`);
  }
  if (file === undefined) throw new UsageError(`${name} needs a FILE`);
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  if (values.format !== undefined && !isBulkFormat(values.format)) {
    throw new UsageError(`--format ${values.format}: the formats are ${Object.keys(BULK_FORMATS).join(', ')}`);
  }
  if (name === 'export' && (values['skip-invalid'] === true || values['define-custom-fields'] === true)) {
    throw new UsageError('--skip-invalid and --define-custom-fields are options of import');
  }
  const batchRows = values['batch-rows'] === undefined ? DEFAULT_BATCH_ROWS : Number(values['batch-rows']);
  if (!Number.isSafeInteger(batchRows) || batchRows < 1) {
    throw new UsageError(`--batch-rows ${values['batch-rows']}: a whole number of rows, at least 1`);
  }
  if (name === 'export' && values['batch-rows'] !== undefined)
    throw new UsageError('--batch-rows is an option of import');
  const operator = values.operator ?? DEFAULT_OPERATOR;
  const problem = validateUserID(operator);
  if (problem !== undefined) throw new UsageError(`--operator: ${problem} (an ID of at most 32 bytes)`);
  return {
    name,
    file,
    format: values.format as BulkFormat | undefined,
    skipInvalid: values['skip-invalid'] === true,
    defineCustomFields: values['define-custom-fields'] === true,
    operator,
    batchRows,
  };
}

/** Steps that undo what an interrupted command left (a partial export file). */
const cleanUps: (() => void)[] = [];

/** The database: DATABASE_URL, else the embedded one (a running server's, or started for this command). */
async function connect(config: Config): Promise<{ database: Database; stop: () => Promise<void> }> {
  const options = { poolMax: 2, migrate: config.dbMigrate, connectTimeoutMs: config.dbConnectTimeoutMs };
  if (config.databaseUrl !== undefined) {
    const database = await openDatabase(config.databaseUrl, options);
    return { database, stop: () => database.close() };
  }
  const embedded = await import('../src/db/embedded-postgres.js').catch((error: unknown) => {
    throw new Error('DATABASE_URL is unset and the embedded database is not installed here: set DATABASE_URL', {
      cause: error,
    });
  });
  const { dataDir } = config.embeddedDatabase;
  let url = embedded.runningEmbeddedDatabaseUrl(dataDir);
  let stopEmbedded: () => Promise<void> = async () => undefined;
  if (url !== undefined) {
    process.stderr.write(`using the embedded database of the server running on ${dataDir}\n`);
  } else {
    try {
      const started = await embedded.startEmbeddedDatabase({
        ...config.embeddedDatabase,
        log: (line) => process.stderr.write(`${line}\n`),
      });
      url = started.url;
      stopEmbedded = () => started.stop();
      process.stderr.write(`started the embedded database in ${dataDir} for this command\n`);
    } catch (error) {
      // A server took the folder between the look and the start: share its database.
      url = embedded.runningEmbeddedDatabaseUrl(dataDir);
      if (url === undefined) throw error;
      process.stderr.write(`using the embedded database of the server running on ${dataDir}\n`);
    }
  }
  try {
    const database = await openDatabase(url, options);
    return {
      database,
      async stop() {
        await database.close();
        await stopEmbedded();
      },
    };
  } catch (error) {
    await stopEmbedded();
    throw error;
  }
}

function importSummary(summary: ImportSummary): string {
  const defined = summary.definedCustomFields.length === 0 ? '' : `; defined ${summary.definedCustomFields.join(', ')}`;
  return (
    `summary: created ${summary.created}, changed ${summary.changed}, unchanged ${summary.unchanged}, ` +
    `skipped ${summary.skipped} (${summary.rows} rows, format ${summary.format}, ` +
    `${summary.events} change event${summary.events === 1 ? '' : 's'}${defined})\n`
  );
}

async function run(command: Command, config: Config): Promise<number> {
  const toStdout = command.name === 'export' && command.file === '-';
  const summaryOut = toStdout ? process.stderr : process.stdout;
  const progress = new Progress(process.stderr, { terminal: process.stderr.isTTY === true });

  // The file first: a missing one is found before the database is started.
  let size: number | undefined;
  if (command.name === 'import' && command.file !== '-') {
    try {
      const stat = await fs.stat(command.file);
      if (!stat.isFile()) throw new UsageError(`${command.file} is not a file`);
      size = stat.size;
    } catch (error) {
      if (error instanceof UsageError) throw error;
      throw new UsageError(`cannot read ${command.file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  }
  let output: WriteStream | undefined;
  let partial: string | undefined;
  if (command.name === 'export' && !toStdout) {
    const target = path.resolve(command.file);
    partial = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.partial`);
    output = createWriteStream(partial, { flags: 'wx' });
    await new Promise<void>((resolve, reject) => {
      output!.once('open', () => resolve());
      output!.once('error', (error: NodeJS.ErrnoException) =>
        reject(new UsageError(`cannot write ${command.file}: ${error.code ?? error.message}`)),
      );
    });
    const written = partial;
    cleanUps.push(() => rmSync(written, { force: true }));
  }

  const { database, stop } = await connect(config);
  try {
    const audit = new AdminAudit(database.pool);
    const customFields = new CustomFieldRepository(database.pool);
    // The keys the server would add at its start, so a file may use them before the server ever ran.
    await customFields.seed(config.profileCustomFields, config.customFieldRegistry.maxDefinitions);
    if (command.name === 'import') {
      const service = new AccountImportService(
        audit,
        customFields,
        { relayOwner: DETACHED_OUTBOX.relayOwner, webhookPending: config.webhook !== undefined },
        config.customFieldRegistry.maxDefinitions,
        progress,
      );
      const input =
        command.file === '-' ? process.stdin : createReadStream(command.file, { highWaterMark: 1024 * 1024 });
      try {
        const summary = await service.run({
          input,
          size,
          format: command.format,
          skipInvalid: command.skipInvalid,
          defineCustomFields: command.defineCustomFields,
          operator: command.operator,
          batchRows: command.batchRows,
        });
        summaryOut.write(importSummary(summary));
        return EXIT.done;
      } catch (error) {
        if (!(error instanceof ImportRefusedError)) throw error;
        process.stderr.write(
          `nothing was imported: ${error.badRows} bad row${error.badRows === 1 ? '' : 's'} (listed above); ` +
            'correct them, or run again with --skip-invalid to import the other rows\n',
        );
        return EXIT.badRows;
      }
    }
    const service = new AccountExportService(audit, customFields, progress);
    const summary = await service.run({
      format: command.format ?? 'profile',
      output: output ?? process.stdout,
      endOutput: output !== undefined,
      operator: command.operator,
    });
    if (partial !== undefined) await fs.rename(partial, path.resolve(command.file));
    summaryOut.write(
      `summary: ${summary.rows} profiles written to ${toStdout ? 'standard output' : command.file} (format ${summary.format})\n`,
    );
    return EXIT.done;
  } finally {
    await stop();
  }
}

async function main(): Promise<void> {
  let command: Command | 'help';
  let config: Config;
  try {
    command = parseCommand(process.argv.slice(2));
    if (command === 'help') {
      process.stdout.write(HELP);
      return;
    }
    loadEnvFile();
    config = loadConfig(process.env, { verifiesTokens: false });
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(
        `${error.message}\n\nUsage: npm run accounts -- import|export FILE [options]; --help tells more\n`,
      );
      process.exit(EXIT.usage);
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(EXIT.usage);
    }
    throw error;
  }
  // A signal ends the command at once: the open transaction is rolled back with its connection,
  // and exiting runs the hook that stops an embedded Postgres this command started.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      for (const cleanUp of cleanUps) cleanUp();
      process.stderr.write(
        `\n${signal}: stopped; nothing was ${command.name === 'import' ? 'imported' : 'exported'}\n`,
      );
      process.exit(128 + os.constants.signals[signal]);
    });
  }
  try {
    process.exitCode = await run(command, config);
  } catch (error) {
    for (const cleanUp of cleanUps) cleanUp();
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = EXIT.usage;
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(
      `${command.name} failed: ${message}; nothing was ${command.name === 'import' ? 'imported' : 'exported'}\n`,
    );
    process.exitCode = EXIT.failed;
  }
}

void main();
