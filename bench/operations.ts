import { benchUserID, BENCH_USERS } from './seed.js';

/** Everything a chat screen shows of a profile: every field of User. */
const PROFILE_SELECTION = `userID nick avatar gender selfSignature allowType birthday location language
  messageSettings adminForbidType level role profileCustomField { key value } lastUpdatedTime`;

export interface BenchRequest {
  readonly token: string;
  readonly body: string;
}

export interface Operation {
  readonly name: string;
  /** Each call returns the next request; the sequence is the same on every run. */
  next(): BenchRequest;
}

export interface BenchTokens {
  /** Tokens of the users that read (their `me`, and the viewer of `users`). */
  readonly readers: readonly string[];
  /** Tokens of the users whose nick the write operation changes; disjoint from the readers. */
  readonly writers: readonly string[];
}

/** The users whose tokens the bench signs: readers from the start of the seed, writers from its end. */
export const READER_COUNT = 1000;
export const WRITER_COUNT = 1000;
export const readerID = (i: number) => benchUserID(i);
export const writerID = (i: number) => benchUserID(BENCH_USERS - WRITER_COUNT + i);

/** A small deterministic PRNG (mulberry32), so every run asks for the same IDs. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function cycle<T>(items: readonly T[]): () => T {
  let i = 0;
  return () => items[i++ % items.length];
}

function usersOperation(name: string, idsPerRequest: number, bodies: number, tokens: BenchTokens): Operation {
  const rand = random(idsPerRequest);
  const list: string[] = [];
  for (let b = 0; b < bodies; b += 1) {
    const ids = new Set<string>();
    while (ids.size < idsPerRequest) ids.add(benchUserID(Math.floor(rand() * BENCH_USERS)));
    list.push(
      JSON.stringify({
        operationName: 'BenchUsers',
        query: `query BenchUsers($ids: [ID!]!) { users(ids: $ids) { ${PROFILE_SELECTION} } }`,
        variables: { ids: [...ids] },
      }),
    );
  }
  const nextBody = cycle(list);
  const nextToken = cycle(tokens.readers);
  return { name, next: () => ({ token: nextToken(), body: nextBody() }) };
}

export function createOperations(tokens: BenchTokens): Operation[] {
  const meBody = JSON.stringify({ operationName: 'BenchMe', query: `query BenchMe { me { ${PROFILE_SELECTION} } }` });
  const nextReader = cycle(tokens.readers);
  const nextWriter = cycle(tokens.writers);
  let written = 0;
  const updateQuery = `mutation BenchUpdateNick($nick: String!) { updateMyProfile(input: { nick: $nick }) { ${PROFILE_SELECTION} } }`;
  return [
    usersOperation('users(ids:) x100', 100, 64, tokens),
    usersOperation('users(ids:) x1', 1, 1000, tokens),
    { name: 'me', next: () => ({ token: nextReader(), body: meBody }) },
    {
      name: 'updateMyProfile (nick)',
      next: () => {
        written += 1;
        return {
          token: nextWriter(),
          body: JSON.stringify({
            operationName: 'BenchUpdateNick',
            query: updateQuery,
            variables: { nick: `Bench nick ${written}` },
          }),
        };
      },
    },
  ];
}
