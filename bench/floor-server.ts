/**
 * The floor: the least a Node server can do to answer the bench's four operations. node:http,
 * one pg query per request, JSON.stringify; the same HS256 token check as the service (jose with a
 * CryptoKey made once, exp and sub required), the same JSON it sends. No GraphQL: the operation is
 * picked by its operationName and its variables are used as they come.
 *
 *   PORT, DATABASE_URL, JWT_SECRET, PROFILE_CUSTOM_FIELDS, DB_POOL_MAX
 */
import { webcrypto } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { jwtVerify } from 'jose';
import { Pool } from 'pg';
import { PROFILE_COLUMNS, profileJson, type ProfileRow } from './profile-shape.js';

const env = process.env;
const pool = new Pool({ connectionString: env.DATABASE_URL, max: Number(env.DB_POOL_MAX ?? 10) });
const key = webcrypto.subtle.importKey(
  'raw',
  Buffer.from(env.JWT_SECRET ?? '', 'utf8'),
  { name: 'HMAC', hash: 'SHA-256' },
  false,
  ['verify'],
);
const declared = new Set((env.PROFILE_CUSTOM_FIELDS ?? '').split(',').filter((k) => k !== ''));

const FIND = {
  name: 'floor_find',
  text: `SELECT ${PROFILE_COLUMNS} FROM user_profile WHERE user_id = ANY($1::text[])`,
};
const UPDATE_NICK = {
  name: 'floor_update_nick',
  text: `UPDATE user_profile SET nick = $2, last_updated_time = now() WHERE user_id = $1 RETURNING ${PROFILE_COLUMNS}`,
};

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

async function answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const token = /^Bearer +([A-Za-z0-9\-_.]+) *$/i.exec(request.headers.authorization ?? '')?.[1];
  const body = JSON.parse(await readBody(request)) as { operationName?: string; variables?: any };
  let viewer: string;
  try {
    if (token === undefined) throw new Error('no token');
    const { payload } = await jwtVerify(token, await key, { algorithms: ['HS256'], requiredClaims: ['exp', 'sub'] });
    viewer = payload.sub!;
  } catch {
    send(response, 200, {
      errors: [{ message: 'A valid bearer token is required', extensions: { code: 'UNAUTHENTICATED' } }],
    });
    return;
  }
  switch (body.operationName) {
    case 'BenchUsers': {
      const ids: string[] = [...new Set<string>(body.variables.ids)];
      const { rows } = await pool.query<ProfileRow>({ ...FIND, values: [ids] });
      const byID = new Map(rows.map((row) => [row.user_id, row]));
      const users = [];
      for (const id of ids) {
        const row = byID.get(id);
        if (row !== undefined) users.push(profileJson(row, declared));
      }
      send(response, 200, { data: { users } });
      return;
    }
    case 'BenchMe': {
      const { rows } = await pool.query<ProfileRow>({ ...FIND, values: [[viewer]] });
      send(response, 200, { data: { me: profileJson(rows[0], declared) } });
      return;
    }
    case 'BenchUpdateNick': {
      const { rows } = await pool.query<ProfileRow>({ ...UPDATE_NICK, values: [viewer, body.variables.nick] });
      send(response, 200, { data: { updateMyProfile: profileJson(rows[0], declared) } });
      return;
    }
    default:
      send(response, 400, { errors: [{ message: `unknown operation ${body.operationName}` }] });
  }
}

const server = http.createServer((request, response) => {
  answer(request, response).catch((error: unknown) => {
    process.stderr.write(`floor: ${String(error)}\n`);
    if (!response.headersSent) send(response, 500, { errors: [{ message: 'Internal server error' }] });
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(env.PORT ?? 4792), '127.0.0.1', () => process.stdout.write('floor ready\n'));

const stop = () => server.close(() => void pool.end().then(() => process.exit(0)));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
