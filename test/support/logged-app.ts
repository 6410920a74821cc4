import { Writable } from 'node:stream';
import pino from 'pino';
import { startApp, type RunningApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { poolerSettings, TEST_CUSTOM_FIELDS, TEST_JWT_SECRET } from './test-server';

/** The app as `npm start` runs it in production, on the test database, with its JSON log lines captured. */
export async function startLoggedApp(env: Record<string, string> = {}): Promise<{ app: RunningApp; lines: any[] }> {
  const lines: any[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  const config = loadConfig({
    NODE_ENV: 'production',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: process.env.DATABASE_URL,
    ...poolerSettings(env.DATABASE_URL),
    DB_MIGRATE: 'false',
    JWT_SECRET: TEST_JWT_SECRET,
    PROFILE_CUSTOM_FIELDS: TEST_CUSTOM_FIELDS.join(','),
    RATE_LIMIT_WRITES_PER_IP: '0',
    ...env,
  });
  const app = await startApp(config, pino({ level: config.logLevel }, sink));
  return { app, lines };
}
