import { Pool, type PoolConfig, type QueryResultRow } from 'pg';
import type { Logger } from 'pino';
import { ServiceUnavailableError } from '../errors.js';
import { mapDatabaseError } from './database-errors.js';
import { createSqlRunner, type SqlRunner, type Statement } from './sql-runner.js';

/** A position in the primary's write-ahead log (an LSN such as `0/16B3748`), as a number that compares. */
export type WalPosition = bigint;

const WAL_POSITION = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

export function parseWalPosition(text: string): WalPosition | undefined {
  const match = WAL_POSITION.exec(text);
  return match === null ? undefined : (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

export function formatWalPosition(position: WalPosition): string {
  return `${(position >> 32n).toString(16).toUpperCase()}/${(position & 0xffff_ffffn).toString(16).toUpperCase()}`;
}

/** What a server that is not in recovery (a primary, or a promoted replica) counts as having replayed: everything. */
const EVERYTHING: WalPosition = (1n << 64n) - 1n;

/** One replica as the last check or statement found it. */
export interface ReplicaStatus {
  /** `host:port/database` of its URL (never the user or password). */
  readonly name: string;
  /** It answered its last check, and no statement has failed to reach it since. */
  readonly up: boolean;
  /** It takes reads now: up, and (while the primary answers) no further behind than DATABASE_READ_MAX_LAG_MS. */
  readonly usable: boolean;
  /** How far behind the primary it was at its last check; undefined until measured. */
  readonly lagSeconds: number | undefined;
  readonly lagBytes: number | undefined;
  /** Statements it answered since start. */
  readonly reads: number;
}

export interface ReadReplicasStatus {
  /** The primary answered its last check. */
  readonly primaryUp: boolean;
  /** Reads the primary answered since start, for want of a replica that could. */
  readonly primaryReads: number;
  readonly replicas: readonly ReplicaStatus[];
}

export interface ReadReplicaOptions {
  readonly maxLagMs: number;
  readonly checkMs: number;
  readonly logger: Pick<Logger, 'info' | 'warn'>;
}

interface Replica {
  readonly name: string;
  readonly pool: Pool;
  /** Undefined until its first check. */
  up: boolean | undefined;
  /** The newest position it is known to have replayed (EVERYTHING for a server not in recovery). */
  replayed: WalPosition | undefined;
  lagMs: number | undefined;
  lagBytes: number | undefined;
  reads: number;
  checking: boolean;
}

interface Sample {
  readonly at: number;
  readonly position: WalPosition;
}

/** The part of a URL that names a server: for logs and metric labels, without credentials. */
export function serverName(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
  } catch {
    return 'replica';
  }
}

/** A primary's pool settings for another server: its limits, timeouts and client class, not its address. */
function settingsFor(url: string, primary: PoolConfig): PoolConfig {
  const { host: _h, port: _p, user: _u, password: _pw, database: _d, connectionString: _c, ...settings } = primary;
  return { ...settings, connectionString: url };
}

/** A statement a hot standby cancelled because replaying the primary's changes needed its rows. */
function isRecoveryConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '40001' || code === '40P01';
}

const CHECK_REPLICA = {
  text: 'SELECT pg_is_in_recovery() AS standby, pg_last_wal_replay_lsn()::text AS replayed',
};
/**
 * The insert position, not the write position: with synchronous_commit off a commit returns before
 * its record is written, and only the insert position is sure to be past it.
 */
const PRIMARY_POSITION = {
  text: "SELECT pg_current_wal_insert_lsn()::text AS position, current_setting('wal_block_size')::int AS block",
};
/** WAL page headers: the short one of every page, the long one at the start of a segment. */
const PAGE_HEADER_SIZES = [24n, 40n];
const REPLAYED_AT_LEAST = {
  text: 'SELECT NOT pg_is_in_recovery() OR pg_last_wal_replay_lsn() >= $1::pg_lsn AS passed',
};

/**
 * Streaming replicas that take reads off the primary (DATABASE_READ_URLS), with the positions
 * that make read-your-writes possible.
 *
 * Every `checkMs` the primary's WAL position is sampled and each replica's replay position read.
 * A replica's lag is the age of the newest primary sample it has replayed past (zero when it has
 * replayed the latest), so an idle primary never makes a replica look late. A replica is read from
 * while it answers and lags at most `maxLagMs`; one whose connection fails is dropped at once, and
 * the next check that reaches it brings it back. While the primary does not answer, replicas that
 * do are read from whatever their lag: they are all there is.
 *
 * A read that must see a write is given that write's position (`reader(after)`): only a replica
 * known to have replayed it (by its last check) may answer it, else the primary does.
 */
export class ReadReplicas {
  private readonly replicas: Replica[];
  private readonly samples: Sample[] = [];
  private readonly primarySql: SqlRunner;
  private primaryUp = true;
  private primaryReads = 0;
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private readonly sampleWindowMs: number;
  /** For reads that accept any replica within the lag limit. */
  private readonly anyReader: SqlRunner;

  constructor(
    private readonly primary: Pool,
    urls: readonly string[],
    private readonly options: ReadReplicaOptions,
  ) {
    this.primarySql = createSqlRunner(primary);
    this.replicas = urls.map((url) => {
      const pool = new Pool(settingsFor(url, primary.options));
      const replica: Replica = {
        name: serverName(url),
        pool,
        up: undefined,
        replayed: undefined,
        lagMs: undefined,
        lagBytes: undefined,
        reads: 0,
        checking: false,
      };
      // An idle connection the server ends (a replica stopped) is reported here; without a
      // listener the process would crash. The pool discards it; the next check notices.
      pool.on('error', (error) => this.markDown(replica, error));
      return replica;
    });
    this.sampleWindowMs = Math.max(2 * options.maxLagMs, 60_000) + options.checkMs;
    this.anyReader = this.readerAfter(undefined);
  }

  /** Checks every server once, then every `checkMs`. */
  async start(): Promise<void> {
    await this.check();
    this.timer = setInterval(() => void this.check(), this.options.checkMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.checking;
    await Promise.all(this.replicas.map((replica) => replica.pool.end().catch(() => undefined)));
  }

  /**
   * Runs reads on a replica that has replayed `after` (any replica within the lag limit when
   * undefined), else on the primary. Its `on` runs on the connection given (a transaction's).
   */
  reader(after?: WalPosition): SqlRunner {
    return after === undefined ? this.anyReader : this.readerAfter(after);
  }

  /**
   * Runs each read where every commit made before it started is visible: the primary's position
   * is read first, and a replica is used only once it has replayed that far (asked when its last
   * check does not say). For deliveries that follow a change notice (subscriptions): one small
   * statement on the primary, the read itself on a replica.
   */
  readonly freshReader: SqlRunner = {
    query: async <R extends QueryResultRow>(statement: Statement): Promise<R[]> => {
      let position: WalPosition;
      try {
        position = await this.primaryPosition();
      } catch {
        // No primary to be newer than: any replica that answers is as fresh as reads can be.
        return this.read<R>(statement, undefined);
      }
      const known = this.candidates(position);
      if (known.length > 0) return this.read<R>(statement, position);
      for (const replica of this.candidates(undefined)) {
        try {
          const { rows } = await replica.pool.query<{ passed: boolean }>({
            ...REPLAYED_AT_LEAST,
            values: [formatWalPosition(position)],
          });
          if (rows[0]?.passed === true) {
            if (replica.replayed === undefined || replica.replayed < position) replica.replayed = position;
            return this.read<R>(statement, position);
          }
        } catch (error) {
          this.markDown(replica, error);
        }
        break;
      }
      return this.read<R>(statement, position);
    },
    on: (connection) => createSqlRunner(connection),
  };

  /** The primary's current WAL position: every commit so far is at or before it. */
  async primaryPosition(): Promise<WalPosition> {
    const [row] = await this.primarySql.query<{ position: string; block: number }>(PRIMARY_POSITION);
    const position = parseWalPosition(row.position);
    if (position === undefined) throw new Error(`unexpected WAL position ${row.position}`);
    // Right after a page header no record has started on the page: the last one ended at the page's
    // start, which is where a replica that replayed it says it is (an idle primary sits there).
    const offset = position % BigInt(row.block);
    return PAGE_HEADER_SIZES.includes(offset) ? position - offset : position;
  }

  status(): ReadReplicasStatus {
    return {
      primaryUp: this.primaryUp,
      primaryReads: this.primaryReads,
      replicas: this.replicas.map((replica) => ({
        name: replica.name,
        up: replica.up === true,
        usable: this.isUsable(replica, undefined),
        lagSeconds: replica.lagMs === undefined ? undefined : replica.lagMs / 1000,
        lagBytes: replica.lagBytes,
        reads: replica.reads,
      })),
    };
  }

  private readerAfter(after: WalPosition | undefined): SqlRunner {
    return {
      query: <R extends QueryResultRow>(statement: Statement) => this.read<R>(statement, after),
      on: (connection) => createSqlRunner(connection),
    };
  }

  private isUsable(replica: Replica, after: WalPosition | undefined): boolean {
    if (replica.up !== true || replica.replayed === undefined) return false;
    if (after !== undefined && replica.replayed < after) return false;
    return !this.primaryUp || (replica.lagMs !== undefined && replica.lagMs <= this.options.maxLagMs);
  }

  /** The replicas that may answer a read needing `after`, starting with the next in turn. */
  private candidates(after: WalPosition | undefined): Replica[] {
    const count = this.replicas.length;
    const found: Replica[] = [];
    for (let i = 0; i < count; i += 1) {
      const replica = this.replicas[(this.next + i) % count];
      if (this.isUsable(replica, after)) found.push(replica);
    }
    return found;
  }

  private async read<R extends QueryResultRow>(statement: Statement, after: WalPosition | undefined): Promise<R[]> {
    const count = this.replicas.length;
    for (let i = 0; i < count; i += 1) {
      const index = (this.next + i) % count;
      const replica = this.replicas[index];
      if (!this.isUsable(replica, after)) continue;
      this.next = (index + 1) % count;
      try {
        const { rows } = await replica.pool.query<R>(statement);
        replica.reads += 1;
        return rows;
      } catch (error) {
        // Cancelled by the replay of the primary's changes: the primary answers instead.
        if (isRecoveryConflict(error)) break;
        const { code, message } = error as { code?: unknown; message?: unknown };
        // pg's own deadline (query_timeout): the server did not even cancel the statement, it hangs.
        const hung = message === 'Query read timeout';
        const mapped = mapDatabaseError(error, statement.fromInput);
        // A statement timeout says the statement is slow, not that the replica is gone.
        if (!hung && (!(mapped instanceof ServiceUnavailableError) || code === '57014')) throw mapped;
        this.markDown(replica, error);
      }
    }
    this.primaryReads += 1;
    return this.primarySql.query<R>(statement);
  }

  private markDown(replica: Replica, error: unknown): void {
    if (replica.up === false) return;
    replica.up = false;
    this.options.logger.warn(
      { replica: replica.name, err: error },
      'read replica unreachable: reads go to the other replicas or the primary until it answers again',
    );
  }

  private sample(at: number, position: WalPosition): void {
    const latest = this.samples.at(-1);
    // A lower position is another primary (restored, or a new cluster): the old samples mean nothing.
    if (latest !== undefined && position < latest.position) this.samples.length = 0;
    this.samples.push({ at, position });
    while (this.samples.length > 2 && at - this.samples[0].at > this.sampleWindowMs) this.samples.shift();
  }

  /** How long ago the primary was where `replayed` is, and how many bytes of WAL lie between. */
  private lagOf(replayed: WalPosition, now: number): { ms: number; bytes: number } | undefined {
    const latest = this.samples.at(-1);
    if (latest === undefined) return undefined;
    if (replayed >= latest.position) return { ms: 0, bytes: 0 };
    const bytes = Number(latest.position - replayed);
    for (let i = this.samples.length - 1; i >= 0; i -= 1) {
      if (this.samples[i].position <= replayed) return { ms: now - this.samples[i].at, bytes };
    }
    return { ms: now - this.samples[0].at, bytes };
  }

  private check(): Promise<void> {
    this.checking ??= this.checkAll().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async checkAll(): Promise<void> {
    try {
      this.sample(Date.now(), await this.primaryPosition());
      if (!this.primaryUp) this.options.logger.info('primary database answers again');
      this.primaryUp = true;
    } catch (error) {
      if (this.primaryUp) {
        this.options.logger.warn(
          { err: error },
          'primary database unreachable: reads go to the replicas, writes answer SERVICE_UNAVAILABLE',
        );
      }
      this.primaryUp = false;
    }
    // A replica that hangs does not hold up the others' checks, nor the next round.
    const checks = this.replicas.filter((replica) => !replica.checking).map((replica) => this.checkReplica(replica));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(checks),
      new Promise((resolve) => (timer = setTimeout(resolve, this.options.checkMs))),
    ]);
    clearTimeout(timer);
  }

  private async checkReplica(replica: Replica): Promise<void> {
    replica.checking = true;
    try {
      const { rows } = await replica.pool.query<{ standby: boolean; replayed: string | null }>(CHECK_REPLICA);
      const [{ standby, replayed }] = rows;
      const position = !standby ? EVERYTHING : replayed === null ? undefined : parseWalPosition(replayed);
      // Never backwards: a fresh read may have found it further along while this check ran.
      if (position !== undefined && (replica.replayed === undefined || position > replica.replayed)) {
        replica.replayed = position;
      }
      const lag = replica.replayed === undefined ? undefined : this.lagOf(replica.replayed, Date.now());
      replica.lagMs = lag?.ms;
      replica.lagBytes = lag?.bytes;
      if (replica.up !== true)
        this.options.logger.info({ replica: replica.name }, 'read replica answers: it takes reads');
      replica.up = true;
    } catch (error) {
      this.markDown(replica, error);
    } finally {
      replica.checking = false;
    }
  }
}
