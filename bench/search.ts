/**
 * `npm run bench -- --only search`: searchUsers on 1,000,000 seeded users (Chinese, Japanese, Korean
 * and Latin nicknames), at 8 concurrent clients, beside two baselines measured in the same run:
 * the same statement sent by this process directly (what the service adds is the rest), and a
 * plain sequential ILIKE scan (what the index saves). See docs/search.md.
 *
 *   npm run bench -- --only search [--users 1000000] [--duration 5] [--rounds 3] [--warmup 2]
 *                    [--connections 8] [--scan-runs 3] [--port 4793] [--pg-port 54339] [--pool 10] [--plans]
 *
 * DATABASE_URL: the server to keep the seeded database on (a database of its own beside the one
 * named, `<name>_search_v1`); unset, an embedded Postgres in .data/bench-postgres on --pg-port.
 * The seed is written once (deterministic; a later run reuses it) with set-based INSERT ... SELECT.
 */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Pool } from 'pg';
import { issueToken } from '../src/auth/token-issuer.js';
import { openDatabase } from '../src/db/database.js';
import { benchDatabase } from './bench-database.js';
import { KeywordMatch, SearchTier } from '../src/search/search.enums.js';
import { UserSearchRepository, type SearchQuery } from '../src/search/search.repository.js';
import { encodeCursor, planSearch } from '../src/search/search.rules.js';

const ROOT = path.resolve(__dirname, '..', '..');
const JWT_SECRET = 'bench-secret-of-more-than-thirty-two-characters';
/** Bump when the seed changes: a database of another version is never reused. */
const SEED_VERSION = 1;
const SEARCHERS = 200;

interface Options {
  users: number;
  duration: number;
  rounds: number;
  warmup: number;
  connections: number;
  scanRuns: number;
  port: number;
  pgPort: number;
  pool: number;
  plans: boolean;
}

function parseOptions(argv: string[]): Options {
  const options: Options = {
    users: 1_000_000,
    duration: 5,
    rounds: 3,
    warmup: 2,
    connections: 8,
    scanRuns: 3,
    port: 4793,
    pgPort: 54339,
    pool: 10,
    plans: false,
  };
  const numeric: Record<string, keyof Options> = {
    '--users': 'users',
    '--duration': 'duration',
    '--rounds': 'rounds',
    '--warmup': 'warmup',
    '--connections': 'connections',
    '--scan-runs': 'scanRuns',
    '--port': 'port',
    '--pg-port': 'pgPort',
    '--pool': 'pool',
  };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    if (flag === '--only') {
      i += 1;
      continue;
    }
    if (flag === '--plans') {
      options.plans = true;
      continue;
    }
    const key = numeric[flag];
    const value = Number(argv[i + 1]);
    if (key === undefined || !Number.isFinite(value) || value < 0) {
      throw new Error(`unknown flag or bad value: ${flag} ${argv[i + 1] ?? ''}`);
    }
    (options as unknown as Record<string, number>)[key] = value;
    i += 1;
  }
  return options;
}

export const searchUserID = (i: number): string => `sb_${String(i).padStart(7, '0')}`;

/**
 * Nicknames as a chat app's users pick them: 45 % Chinese (a surname drawn with the skew of real
 * surnames, so 王 and 李 are in several percent of all nicknames, then one or two given-name
 * characters), 10 % Japanese (kana given names, half of them after a kanji surname, some in
 * half-width katakana), 10 % Korean (hangul: surname and two syllables), 35 % Latin (first and
 * last names in five styles: "Alice Smith", "alice_smith", "Alice42", "ALICE", "AliceSmith").
 * Written in an order unrelated to the user IDs, as sign-ups are: a walk along user IDs reads
 * rows scattered over the table. Deterministic: the i-th user is always the same.
 */
const SEED = `
  WITH v AS (
    SELECT
      ARRAY['王','李','张','刘','陈','杨','黄','赵','吴','周','徐','孙','马','朱','胡','郭','何','高','林','罗',
            '郑','梁','谢','宋','唐','许','韩','冯','邓','曹','彭','曾','肖','田','董','袁','潘','于','蒋','蔡',
            '余','杜','叶','程','苏','魏','吕','丁','任','沈','姚','卢','姜','崔','钟','谭','陆','汪','范','金',
            '石','廖','贾','夏','韦','付','方','白','邹','孟','熊','秦','邱','江','尹','薛','闫','段','雷','侯',
            '龙','史','陶','黎','贺','顾','毛','郝','龚','邵','万','钱','严','覃','武','戴','莫','孔','向','汤'] AS cn_surname,
      ARRAY['伟','芳','娜','秀','英','敏','静','丽','强','磊','军','洋','勇','艳','杰','娟','涛','明','超','兰',
            '霞','平','刚','桂','华','建','国','文','辉','力','婷','玉','萍','红','鹏','宇','浩','然','思','雨',
            '欣','怡','梓','涵','子','轩','博','晨','阳','佳','琪','嘉','鑫','凯','飞','志','海','燕','慧','春',
            '梅','波','斌','宁','云','峰','东','亮','晓','小','一','诗','若','梦','雪','琳','颖','洁','倩','丹',
            '萱','航','泽','睿','瑞','天','俊','逸','昊','铭','晴','悦','彤','可','心','安','乐','美','家','成',
            '永','金','荣','德','义','仁','忠','光'] AS cn_given,
      ARRAY['佐藤','鈴木','高橋','田中','渡辺','伊藤','山本','中村','小林','加藤','吉田','山田'] AS jp_surname,
      ARRAY['さくら','ゆい','はると','そうた','ひなた','あおい','ゆうき','れん','みお','ユウキ','ハルト','アオイ',
            'サクラ','タカシ','ケンジ','ﾕｳｷ','ﾊﾙﾄ','ひろし','まさと','なつみ'] AS jp_given,
      ARRAY['김','이','박','최','정','강','조','윤','장','임','한','오'] AS kr_surname,
      ARRAY['민','준','서','연','지','우','현','수','영','하','은','도','예','진','성','호','유','아','재','윤'] AS kr_syllable,
      ARRAY['Alice','Bob','Charlie','David','Emma','Olivia','Liam','Noah','Sophia','Mia','Lucas','Ethan','Ava',
            'Isabella','James','Benjamin','Amelia','Harper','Evelyn','Alexander','Michael','Daniel','Elijah',
            'Matthew','Logan','Jackson','Sebastian','Aiden','Chloe','Lily','Zoe','Nora','Leo','Max','Anna','Maria',
            'José','Zoë','Łukasz','François','Natalia','Amalia','Julia','Oscar','Hugo','Ivan','Olga','Sven','Ingrid',
            'Kenji'] AS latin_first,
      ARRAY['Smith','Johnson','Williams','Brown','Jones','Garcia','Miller','Davis','Rodriguez','Martinez',
            'Hernandez','Lopez','Gonzalez','Wilson','Anderson','Thomas','Taylor','Moore','Martin','Lee','Perez',
            'Thompson','White','Harris','Sanchez','Clark','Ramirez','Lewis','Robinson','Walker','Young','Allen',
            'King','Wright','Scott','Torres','Nguyen','Hill','Flores','Green','Adams','Nelson','Baker','Hall',
            'Rivera','Campbell','Mitchell','Carter','Roberts','Müller'] AS latin_last
  ), r AS (
    SELECT i, abs(hashint4(i)) AS h0, abs(hashint4(i + 7919)) AS h1, abs(hashint4(i + 104729)) AS h2,
      abs(hashint4(i + 1299709)) AS h3, (abs(hashint4(i + 15485863)) % 1000000) / 1000000.0 AS u
    FROM generate_series($1::int, $2::int - 1) AS i
  )
  INSERT INTO user_profile (user_id, nick, gender, birthday)
  SELECT 'sb_' || lpad(i::text, 7, '0'),
    CASE
      WHEN h0 % 100 < 45 THEN
        v.cn_surname[1 + floor(cardinality(v.cn_surname) * u * u)::int]
        || v.cn_given[1 + h1 % cardinality(v.cn_given)]
        || CASE WHEN h2 % 3 = 0 THEN '' ELSE v.cn_given[1 + h3 % cardinality(v.cn_given)] END
      WHEN h0 % 100 < 55 THEN
        CASE WHEN h1 % 2 = 0 THEN v.jp_surname[1 + h2 % cardinality(v.jp_surname)] ELSE '' END
        || v.jp_given[1 + h3 % cardinality(v.jp_given)]
      WHEN h0 % 100 < 65 THEN
        v.kr_surname[1 + h1 % cardinality(v.kr_surname)] || v.kr_syllable[1 + h2 % 20] || v.kr_syllable[1 + h3 % 20]
      ELSE
        CASE h1 % 5
          WHEN 0 THEN v.latin_first[1 + h2 % 50] || ' ' || v.latin_last[1 + h3 % 50]
          WHEN 1 THEN lower(v.latin_first[1 + h2 % 50]) || '_' || lower(v.latin_last[1 + h3 % 50])
          WHEN 2 THEN v.latin_first[1 + h2 % 50] || (h3 % 100)::text
          WHEN 3 THEN upper(v.latin_first[1 + h2 % 50])
          ELSE v.latin_first[1 + h2 % 50] || v.latin_last[1 + h3 % 50]
        END
    END,
    (ARRAY['UNKNOWN', 'FEMALE', 'MALE'])[1 + h2 % 3]::profile_gender,
    CASE WHEN h3 % 4 = 0 THEN 0 ELSE 19600100 + (h1 % 50) * 10000 + (h2 % 12) * 100 + (h3 % 28) + 1 END
  FROM r CROSS JOIN v
  ORDER BY hashint4(i * 31 + 7)
  ON CONFLICT (user_id) DO NOTHING`;

async function seed(pool: Pool, users: number): Promise<void> {
  const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM user_profile`);
  if (Number(rows[0].n) === users) {
    console.log(`seed: ${users} users already there, reused`);
    return;
  }
  if (Number(rows[0].n) !== 0) await pool.query('TRUNCATE user_profile CASCADE');
  const started = Date.now();
  const batch = 100_000;
  for (let from = 0; from < users; from += batch) {
    await pool.query(SEED, [from, Math.min(users, from + batch)]);
    process.stdout.write(`\rseed: ${Math.min(users, from + batch)} of ${users} users`);
  }
  console.log(`, ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const vacuumed = Date.now();
  await pool.query('VACUUM ANALYZE user_profile');
  console.log(`VACUUM ANALYZE: ${((Date.now() - vacuumed) / 1000).toFixed(1)} s`);
}

/** The database the seed lives in, beside the one DATABASE_URL names; created (and migrated) when missing. */
async function searchDatabase(serverUrl: string): Promise<string> {
  const url = new URL(serverUrl);
  const base = url.pathname.replace(/^\//, '') || 'postgres';
  const name = `${base}_search_v${SEED_VERSION}`.replace(/[^a-z0-9_]/gi, '_');
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  url.pathname = `/${name}`;
  return url.toString();
}

interface Case {
  readonly name: string;
  readonly keywords: string[];
  /** Start at this page (the cursor of the page before it is computed first). */
  readonly page?: number;
}

const CASES: readonly Case[] = [
  { name: '3-char Latin "ali"', keywords: ['ali'] },
  { name: '1-char CJK "王"', keywords: ['王'] },
  { name: '2-char CJK "小明"', keywords: ['小明'] },
  { name: '2-char CJK "王芳"', keywords: ['王芳'] },
  { name: 'user ID', keywords: [searchUserID(424_242)] },
  { name: 'kana "ゆい"', keywords: ['ゆい'] },
  { name: 'hangul "민준"', keywords: ['민준'] },
  { name: 'no match "zqx"', keywords: ['zqx'] },
  { name: '"王", page 50', keywords: ['王'], page: 50 },
];

const SELECTION = 'userID nick avatar gender birthday selfSignature profileCustomField { key value }';
const QUERY = `query Search($input: SearchUsersInput!) { searchUsers(input: $input) { users { ${SELECTION} } nextCursor } }`;

interface Latency {
  readonly p50: number;
  readonly p99: number;
  readonly rps: number;
  readonly errors: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

function startService(options: Options, databaseUrl: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['dist/src/main.js'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(options.port),
      DATABASE_URL: databaseUrl,
      DB_MIGRATE: 'false',
      DB_POOL_MAX: String(options.pool),
      JWT_SECRET,
      // 8 clients searching as fast as they can are what the search rate limit refuses; the bench
      // measures the search itself, so the limit is off here (as the write limit is in bench/run.ts).
      SEARCH_RATE_LIMIT_PER_USER: '0',
      RATE_LIMIT_WRITES_PER_USER: '0',
      RATE_LIMIT_WRITES_PER_IP: '0',
    },
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += String(chunk)));
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = async () => {
      if (child.exitCode !== null) return reject(new Error(`the service exited (${child.exitCode}): ${stderr}`));
      try {
        await fetch(`http://127.0.0.1:${options.port}/graphql`, { method: 'POST', body: '{}' });
        resolve(child);
      } catch {
        if (Date.now() - started > 30_000) return reject(new Error(`the service did not start: ${stderr}`));
        setTimeout(poll, 100);
      }
    };
    void poll();
  });
}

/** The input of a case: its keywords, and the cursor of the page before its page. */
async function inputOf(bench: Case, repository: UserSearchRepository): Promise<Record<string, unknown>> {
  const input: Record<string, unknown> = { keywords: bench.keywords };
  if (bench.page === undefined || bench.page <= 1) return input;
  const plan = planSearch({ keywords: bench.keywords });
  let after: SearchQuery['after'];
  for (let page = 1; page < bench.page; page += 1) {
    const hits = await repository.findMatches({ ...plan.query, after });
    const last = hits[plan.pageSize - 1];
    if (last === undefined) throw new Error(`${bench.name}: fewer than ${bench.page} pages`);
    after = { tier: last.tier, userID: last.userID };
  }
  input.after = encodeCursor(plan.fingerprint, after ?? { tier: SearchTier.USER_ID, userID: '' });
  return input;
}

async function overHttp(options: Options, input: Record<string, unknown>, tokens: string[], seconds: number) {
  let next = 0;
  const body = JSON.stringify({ operationName: 'Search', query: QUERY, variables: { input } });
  const result = await autocannon({
    url: `http://127.0.0.1:${options.port}/graphql`,
    connections: options.connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        setupRequest: (request: any) => ({
          ...request,
          path: '/graphql',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[next++ % tokens.length]}` },
          body,
        }),
      },
    ],
  });
  return {
    p50: result.latency.p50,
    p99: result.latency.p99,
    rps: result.requests.total / seconds,
    errors: result.non2xx + result.errors + result.timeouts,
  };
}

/** The repository's own call (its transaction and statement), from `connections` concurrent workers. */
async function direct(options: Options, repository: UserSearchRepository, query: SearchQuery, seconds: number) {
  const latencies: number[] = [];
  const until = Date.now() + seconds * 1000;
  let errors = 0;
  await Promise.all(
    Array.from({ length: options.connections }, async () => {
      while (Date.now() < until) {
        const started = process.hrtime.bigint();
        try {
          await repository.findMatches(query);
        } catch {
          errors += 1;
        }
        latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), rps: latencies.length / seconds, errors };
}

/** The plain way: ILIKE over every row, sorted by the same groups (one client; it is slow). */
async function sequentialScan(pool: Pool, keyword: string, runs: number): Promise<number> {
  const times: number[] = [];
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL enable_indexscan = off');
    await client.query('SET LOCAL enable_bitmapscan = off');
    await client.query('SET LOCAL enable_indexonlyscan = off');
    for (let i = 0; i < runs; i += 1) {
      const started = process.hrtime.bigint();
      await client.query(
        `SELECT user_id FROM user_profile
         WHERE deactivated_at IS NULL AND (user_id = $1 OR nick ILIKE '%' || $1 || '%')
         ORDER BY CASE WHEN user_id = $1 THEN 0 WHEN nick ILIKE $1 || '%' THEN 1 ELSE 2 END, user_id
         LIMIT 21`,
        [keyword],
      );
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    await client.query('ROLLBACK');
  } finally {
    client.release();
  }
  return median(times);
}

/** EXPLAIN (ANALYZE, BUFFERS) of the search statement for a case, without the steps that did not run. */
async function planOf(pool: Pool, query: SearchQuery): Promise<string> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL jit = off; SET LOCAL max_parallel_workers_per_gather = 0');
    const text = UserSearchRepository.statementFor(query.keywords.length, query.match);
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${text}`, [
      query.after?.tier ?? 0,
      query.after?.userID ?? '',
      query.limit,
      null,
      null,
      null,
      ...query.keywords,
    ]);
    await client.query('ROLLBACK');
    const lines = rows.map((row) => row['QUERY PLAN']);
    // A node that never ran, and everything indented under it.
    const kept: string[] = [];
    let skipBelow = -1;
    for (const line of lines) {
      const indent = line.length - line.trimStart().length;
      if (skipBelow >= 0 && indent > skipBelow) continue;
      skipBelow = line.includes('(never executed)') ? indent : -1;
      if (skipBelow < 0) kept.push(line);
    }
    return kept.join('\n');
  } finally {
    client.release();
  }
}

function machine(): string {
  const cpu = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
  return `${os.availableParallelism()} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

export async function runSearchBench(argv: string[]): Promise<void> {
  const options = parseOptions(argv);
  const { url: serverUrl, stop: stopEmbedded } = await benchDatabase(options.pgPort);
  let service: ChildProcess | undefined;
  const stopService = async () => {
    if (service === undefined || service.exitCode !== null) return;
    const exited = new Promise((resolve) => service!.once('exit', resolve));
    service.kill('SIGTERM');
    await exited;
  };
  process.once(
    'SIGINT',
    () =>
      void stopService()
        .then(() => stopEmbedded())
        .then(() => process.exit(130)),
  );
  try {
    const databaseUrl = await searchDatabase(serverUrl);
    const database = await openDatabase(databaseUrl, { poolMax: 2, migrate: true });
    try {
      await seed(database.pool, options.users);
    } finally {
      await database.close();
    }
    const pool = new Pool({ connectionString: databaseUrl, max: options.connections });
    try {
      const repository = new UserSearchRepository(pool);
      const version = (await pool.query('SHOW server_version')).rows[0].server_version as string;
      const tokens = await Promise.all(
        Array.from({ length: SEARCHERS }, (_, i) =>
          issueToken(JWT_SECRET, searchUserID(i * 4999), { expiresIn: '12h' }),
        ),
      );
      service = await startService(options, databaseUrl);
      const inputs = new Map<string, Record<string, unknown>>();
      for (const bench of CASES) inputs.set(bench.name, await inputOf(bench, repository));

      console.log(
        `load: ${options.rounds} interleaved rounds x ${options.duration} s per case, service then direct statement, ` +
          `${options.connections} concurrent clients, ${options.warmup} s warm-up each`,
      );
      const runs = new Map<string, { service: Latency[]; direct: Latency[]; found: number; scanMs: number }>();
      for (const bench of CASES) {
        const input = inputs.get(bench.name)!;
        const query = planSearch(input as { keywords: string[] }).query;
        const response = (await (
          await fetch(`http://127.0.0.1:${options.port}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[0]}` },
            body: JSON.stringify({ query: QUERY, variables: { input } }),
          })
        ).json()) as { data?: { searchUsers: { users: unknown[] } }; errors?: unknown };
        if (response.errors !== undefined) throw new Error(`${bench.name}: ${JSON.stringify(response.errors)}`);
        runs.set(bench.name, {
          service: [],
          direct: [],
          found: response.data!.searchUsers.users.length,
          scanMs: bench.page === undefined ? await sequentialScan(pool, bench.keywords[0], options.scanRuns) : NaN,
        });
        if (options.warmup > 0) {
          await overHttp(options, input, tokens, options.warmup);
          await direct(options, repository, query, options.warmup);
        }
      }
      for (let round = 0; round < options.rounds; round += 1) {
        for (const bench of CASES) {
          const input = inputs.get(bench.name)!;
          const query = planSearch(input as { keywords: string[] }).query;
          const run = runs.get(bench.name)!;
          const viaService = await overHttp(options, input, tokens, options.duration);
          const viaStatement = await direct(options, repository, query, options.duration);
          run.service.push(viaService);
          run.direct.push(viaStatement);
          console.log(
            `  round ${round + 1} ${bench.name.padEnd(22)} service p50 ${viaService.p50} / p99 ${viaService.p99} ms ` +
              `(${viaService.rps.toFixed(0)}/s)  statement p50 ${viaStatement.p50.toFixed(1)} / p99 ${viaStatement.p99.toFixed(1)} ms` +
              (viaService.errors + viaStatement.errors > 0
                ? `  ${viaService.errors + viaStatement.errors} errors`
                : ''),
          );
        }
      }

      console.log(`\nMachine: ${machine()}; Postgres ${version}; ${options.users} users`);
      console.log(
        `Run: ${options.rounds} rounds x ${options.duration} s, ${options.connections} concurrent clients, pool ${options.pool}, ` +
          `first: 20; medians over rounds. Sequential ILIKE scan: one client, median of ${options.scanRuns}.\n`,
      );
      const header = [
        'search',
        'users',
        'service p50 / p99 ms',
        'service req/s',
        'statement alone p50 / p99 ms',
        'sequential ILIKE scan ms',
      ];
      console.log(`| ${header.join(' | ')} |`);
      console.log(`|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
      for (const bench of CASES) {
        const run = runs.get(bench.name)!;
        const m = (pick: (latency: Latency) => number, from: Latency[]) => median(from.map(pick));
        console.log(
          `| ${bench.name} | ${run.found} | ${m((l) => l.p50, run.service)} / ${m((l) => l.p99, run.service)} | ` +
            `${m((l) => l.rps, run.service).toFixed(0)} | ${m((l) => l.p50, run.direct).toFixed(1)} / ${m((l) => l.p99, run.direct).toFixed(1)} | ` +
            `${Number.isNaN(run.scanMs) ? '-' : run.scanMs.toFixed(0)} |`,
        );
      }
      const failed = [...runs.values()].flatMap((run) => [...run.service, ...run.direct]).filter((l) => l.errors > 0);
      if (failed.length > 0) console.log(`WARNING: ${failed.length} runs had errors or non-2xx answers`);
      if (options.plans) {
        for (const bench of CASES) {
          const query = planSearch(inputs.get(bench.name) as { keywords: string[] }).query;
          console.log(`\nEXPLAIN (ANALYZE, BUFFERS) for ${bench.name} (steps that did not run left out):\n`);
          console.log(await planOf(pool, { ...query, match: KeywordMatch.ANY }));
        }
      }
    } finally {
      await pool.end();
    }
  } finally {
    await stopService();
    await stopEmbedded();
  }
}
