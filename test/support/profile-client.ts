import { createProfileClient, ProfileClientError, type ProfileClient } from '../../src/client';
import { uniqueUserID, type TestServer } from './test-server';

/** A client for `userID` whose requests are counted (to tell a check before sending from a server refusal). */
export function countingClient(
  server: TestServer,
  userID = uniqueUserID('c'),
): { client: ProfileClient; requests: () => number } {
  let requests = 0;
  const client = createProfileClient({
    url: server.url,
    getToken: () => server.token(userID),
    fetch: (...args) => {
      requests += 1;
      return fetch(...args);
    },
  });
  return { client, requests: () => requests };
}

/** The ProfileClientError `promise` rejects with; fails when it resolves or rejects otherwise. */
export async function rejection(promise: Promise<unknown>): Promise<ProfileClientError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ProfileClientError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}
