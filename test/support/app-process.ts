import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { poolerSettings, TEST_CUSTOM_FIELDS, TEST_JWT_SECRET } from './test-server';

export interface AppProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything the process wrote, for failure messages. */
  output(): string;
  /** SIGTERM, then resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts the built server (`node dist/src/main.js`) as a separate process on the test database. */
export async function startAppProcess(env: Record<string, string> = {}): Promise<AppProcess> {
  const main = path.resolve(__dirname, '..', '..', 'dist', 'src', 'main.js');
  const child = spawn(process.execPath, [main], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: process.env.DATABASE_URL,
      ...poolerSettings(env.DATABASE_URL),
      DB_MIGRATE: 'false',
      DB_POOL_MAX: '4',
      JWT_SECRET: TEST_JWT_SECRET,
      PROFILE_CUSTOM_FIELDS: TEST_CUSTOM_FIELDS.join(','),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server process did not start:\n${output}`)), 20000);
    const onData = () => {
      const match = /profile service ready at (http:\/\/\S+?\/graphql)/.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve(match[1]);
      }
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server process exited with ${code}:\n${output}`));
    });
  });
  return {
    url,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      return exited;
    },
  };
}
