/**
 * What DATABASE_PREPARED_STATEMENTS=false costs a read: `UserProfileRepository.findByIds` for 100
 * profiles and for 1, sent as named statements (the default), unnamed, and unnamed through a
 * pooler, in alternating blocks on one connection each, one read at a time. Prints the median
 * time per read of each kind over the blocks. See docs/scaling.md.
 *
 *   DATABASE_URL=postgres://…/bench [POOLER_URL=postgres://…@pgbouncer:6432/bench] \
 *     node dist/bench/statement-naming.js [--rounds 20]
 *
 * Needs the bench's seeded users (npm run bench seeds them).
 */
import 'reflect-metadata';
import { Pool } from 'pg';
import { createSqlRunner } from '../src/db/sql-runner.js';
import { UnnamedStatementClient } from '../src/db/unnamed-statements.js';
import { UserProfileRepository } from '../src/user/user.repository.js';
import { benchUserID, BENCH_USERS } from './seed.js';

const READS_PER_BLOCK = { x100: 200, x1: 500 } as const;
type Kind = keyof typeof READS_PER_BLOCK;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL must name the bench database');
  const roundsFlag = process.argv.indexOf('--rounds');
  const rounds = roundsFlag > 0 ? Number(process.argv[roundsFlag + 1]) : 20;
  const pools: Array<[string, Pool]> = [
    ['named', new Pool({ connectionString: url, max: 1 })],
    ['unnamed', new Pool({ connectionString: url, max: 1, Client: UnnamedStatementClient })],
  ];
  const pooler = process.env.POOLER_URL;
  if (pooler)
    pools.push(['unnamed, pooled', new Pool({ connectionString: pooler, max: 1, Client: UnnamedStatementClient })]);
  const variants = pools.map(([name, pool]) => ({
    name,
    pool,
    repository: new UserProfileRepository(createSqlRunner(pool)),
    times: { x100: [] as number[], x1: [] as number[] },
  }));
  const ids: Record<Kind, string[]> = {
    x100: Array.from({ length: 100 }, (_, i) => benchUserID((i * 977) % BENCH_USERS)),
    x1: [benchUserID(12_345)],
  };
  try {
    for (const variant of variants) {
      for (let i = 0; i < 200; i += 1) await variant.repository.findByIds(ids.x100);
    }
    for (let round = 0; round < rounds; round += 1) {
      // Alternating order, so a change in the machine's load falls on every kind alike.
      for (const variant of round % 2 === 0 ? variants : [...variants].reverse()) {
        for (const kind of ['x100', 'x1'] as const) {
          const started = process.hrtime.bigint();
          for (let i = 0; i < READS_PER_BLOCK[kind]; i += 1) await variant.repository.findByIds(ids[kind]);
          variant.times[kind].push(Number(process.hrtime.bigint() - started) / 1000 / READS_PER_BLOCK[kind]);
        }
      }
    }
    console.log(
      `median µs per read over ${rounds} blocks of each (${READS_PER_BLOCK.x100} / ${READS_PER_BLOCK.x1} reads)`,
    );
    for (const variant of variants) {
      console.log(
        `${variant.name.padEnd(16)} 100 profiles ${median(variant.times.x100).toFixed(0).padStart(5)}   1 profile ${median(variant.times.x1).toFixed(0).padStart(4)}`,
      );
    }
  } finally {
    await Promise.all(variants.map((variant) => variant.pool.end()));
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
