import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

/** A deadline-bounded wait: polls `check` until it returns a value, or fails with `what`. */
export async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Waits until a subscription delivers: `change(attempt)` commits a change it should deliver (a new
 * value each attempt) and is called again until `delivered()` holds. The server hands out a
 * subscription's stream only once it is set up, so the first delivery shows that every change
 * committed after it arrives too; one committed while it was being set up may not, hence the repeats.
 */
export async function untilDelivering(
  what: string,
  change: (attempt: number) => Promise<unknown>,
  delivered: () => boolean,
  timeoutMs = 15000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt += 1) {
    await change(attempt);
    const retryAt = Date.now() + 300;
    while (Date.now() < retryAt) {
      if (delivered()) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

export interface ReceivedResult {
  data?: Record<string, any> | null;
  errors?: Array<{ message: string; extensions?: Record<string, any> }>;
}

export interface LiveSubscription {
  /** Every `next` payload received so far, in order. */
  readonly results: ReceivedResult[];
  /** Set when the server answered with an `error` message. */
  readonly errors: () => ReadonlyArray<{ message: string; extensions?: Record<string, any> }> | undefined;
  readonly completed: () => boolean;
  /** Waits (bounded) for a result that `match` accepts and returns it. */
  next(what: string, match: (result: ReceivedResult) => boolean): Promise<ReceivedResult>;
  unsubscribe(): void;
}

export interface WsConnection {
  readonly client: Client;
  /** Runs one query or mutation over the socket and resolves with its single result or its errors. */
  execute(query: string, variables?: Record<string, unknown>): Promise<ReceivedResult>;
  /** The close event, once the socket closed. */
  readonly closed: () => { code: number; reason: string } | undefined;
  /** When (Date.now()) the server acknowledged the connection, and when the socket closed. */
  readonly connectedAt: () => number | undefined;
  readonly closedAt: () => number | undefined;
  subscribe(query: string, variables?: Record<string, unknown>): LiveSubscription;
  dispose(): Promise<void>;
}

/** A real graphql-ws client over a real WebSocket; `token` goes into the connection_init payload. */
export function connect(
  httpUrl: string,
  token: string | undefined,
  options: {
    retryAttempts?: number;
    lazy?: boolean;
    tokenParam?: 'authorization' | 'Authorization';
    /** Sent with the upgrade request, e.g. the X-Forwarded-For a gateway adds. */
    headers?: Record<string, string>;
  } = {},
): WsConnection {
  let closed: { code: number; reason: string } | undefined;
  let connectedAt: number | undefined;
  let closedAt: number | undefined;
  const headers = options.headers;
  const client = createClient({
    url: httpUrl.replace(/^http/, 'ws'),
    webSocketImpl:
      headers === undefined
        ? WebSocket
        : class extends WebSocket {
            constructor(url: string, protocols?: string | string[]) {
              super(url, protocols, { headers });
            }
          },
    lazy: options.lazy ?? false,
    retryAttempts: options.retryAttempts ?? 0,
    connectionParams: token === undefined ? {} : { [options.tokenParam ?? 'authorization']: `Bearer ${token}` },
    on: {
      connected: () => void (connectedAt = Date.now()),
      closed: (event) => {
        closedAt = Date.now();
        const { code, reason } = event as { code: number; reason: string };
        closed = { code, reason: String(reason) };
      },
    },
    onNonLazyError: () => undefined,
  });
  return {
    client,
    closed: () => closed,
    connectedAt: () => connectedAt,
    closedAt: () => closedAt,
    execute(query, variables) {
      return new Promise((resolve, reject) => {
        let result: ReceivedResult | undefined;
        client.subscribe(
          { query, variables },
          {
            next: (value) => void (result = value as ReceivedResult),
            error: (error) =>
              Array.isArray(error)
                ? resolve({ errors: error })
                : reject(error instanceof Error ? error : new Error(`socket closed: ${JSON.stringify(error)}`)),
            complete: () => resolve(result ?? {}),
          },
        );
      });
    },
    subscribe(query, variables) {
      const results: ReceivedResult[] = [];
      let errors: ReadonlyArray<{ message: string; extensions?: Record<string, any> }> | undefined;
      let done = false;
      const unsubscribe = client.subscribe(
        { query, variables },
        {
          next: (value) => void results.push(value as ReceivedResult),
          error: (error) => {
            errors = Array.isArray(error) ? error : [{ message: String((error as Error)?.message ?? error) }];
          },
          complete: () => (done = true),
        },
      );
      return {
        results,
        errors: () => errors,
        completed: () => done,
        next: (what, match) =>
          waitFor(what, () => {
            if (errors) throw new Error(`subscription failed: ${JSON.stringify(errors)}`);
            return results.find(match);
          }),
        unsubscribe,
      };
    },
    dispose: async () => {
      await client.dispose();
    },
  };
}
