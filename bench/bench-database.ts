import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/**
 * The Postgres a benchmark uses: DATABASE_URL, or, unset, an embedded Postgres kept in
 * .data/bench-postgres on `pgPort` (seeded data survives for the next run). `stop` stops what was
 * started here, nothing else.
 */
export async function benchDatabase(pgPort: number): Promise<{ url: string; stop: () => Promise<void> }> {
  const url = process.env.DATABASE_URL;
  if (url !== undefined && url !== '') return { url, stop: async () => undefined };
  const { startEmbeddedDatabase } = await import('../src/db/embedded-postgres.js');
  const dataDir = path.join(ROOT, '.data', 'bench-postgres');
  console.log(`DATABASE_URL is unset: starting an embedded Postgres in ${dataDir} on port ${pgPort}`);
  const embedded = await startEmbeddedDatabase({ dataDir, port: pgPort, persistent: true });
  return { url: embedded.url, stop: () => embedded.stop() };
}
