import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { issueToken } from '../../src/auth/token-issuer';
import { DEVELOPMENT_JWT_SECRET } from '../../src/config';

const MAIN = path.resolve(__dirname, '..', '..', 'dist', 'src', 'main.js');

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly output: () => string;
  /** Resolves with the exit code (or the signal's name). */
  readonly exited: Promise<number | string>;
}

/** Starts the built server (`npm start`'s command) and waits for its ready line. */
export async function startServerProcess(
  env: Record<string, string | undefined>,
  timeoutMs = 30_000,
  cwd?: string,
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [MAIN], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), timeoutMs);
    const check = () => {
      const match = /"url":"([^"]+)"/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before it was ready:\n${output}`));
    });
  });
  return { child, url, output: () => output, exited };
}

/** POSTs `query` to a development server as `userID`, with a token signed by the development secret. */
export async function callAsDeveloper(server: { url: string }, query: string, userID: string) {
  const token = await issueToken(DEVELOPMENT_JWT_SECRET, userID);
  const response = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  return (await response.json()) as { data?: any; errors?: unknown[] };
}
