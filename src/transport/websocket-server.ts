import {
  createSourceEventStream,
  execute,
  getOperationAST,
  GraphQLError,
  Kind,
  visit,
  type ArgumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FormattedExecutionResult,
  type GraphQLSchema,
  type OperationTypeNode,
} from 'graphql';
import { CloseCode, handleProtocols, makeServer, type Context as ProtocolContext } from 'graphql-ws';
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { WebSocketLimits } from '../config.js';
import type { Viewer } from '../auth/viewer.js';
import { authenticate, createContext, type Services } from '../context.js';
import { cursorOf } from '../events/profile-event-hub.js';
import { LatestFeed } from '../shared/latest-feed.js';
import { ErrorCode, ErrorReason, ForbiddenError } from '../errors.js';
import { operationNotFound, type OperationGate } from '../gate/operation-gate.js';
import { clientAddress, startOperationRecord, type RequestRecord } from '../http/request-record.js';

export interface SubscriptionServerOptions {
  readonly httpServer: http.Server;
  readonly path: string;
  readonly schema: GraphQLSchema;
  readonly services: Services;
  readonly gate: OperationGate;
  readonly limits: WebSocketLimits;
  /** Take the client address from X-Forwarded-For, as the HTTP path does. */
  readonly trustProxy: boolean;
  readonly logger: Logger;
}

export interface SubscriptionServer {
  /** Closes every socket with 1001 (going away, so clients reconnect elsewhere) and stops accepting. */
  close(): Promise<void>;
}

const CLOSE_GRACE_MS = 2000;
/** graphql-ws's default: a socket that does not answer a ping within this long is dropped. */
const KEEPALIVE_MS = 12_000;
/** RFC 6455: the endpoint is going away, e.g. a server shutting down. */
const CLOSE_GOING_AWAY = 1001;
/** RFC 6455: policy violation; a cap refused the socket. */
const CLOSE_POLICY_VIOLATION = 1008;
/** graphql-ws's Forbidden: what a refused connection_init gets too. */
const CLOSE_FORBIDDEN = 4403;
/** setTimeout's limit (about 24.8 days); a token valid longer is closed then and reconnects. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The token from the connection_init payload: `authorization` or `Authorization`, "Bearer <token>". */
function authorizationOf(params: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const value = params?.authorization ?? params?.Authorization;
  return typeof value === 'string' ? value : undefined;
}

/**
 * Errors in an execution result that graphql-js returns without a code: request errors (no path;
 * e.g. a variable of the wrong type) are the client's input, as Apollo labels them over HTTP; the
 * rest is masked as usual.
 */
function labelled(error: GraphQLError): GraphQLError {
  if (error.extensions.code !== undefined || error.path !== undefined) return error;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    originalError: error.originalError,
    extensions: { ...error.extensions, code: ErrorCode.BAD_USER_INPUT },
  });
}

/**
 * graphql-ws wraps what a subscription's source throws in a new GraphQLError without its
 * extensions: a coded error of ours (SERVICE_UNAVAILABLE) is sent as it was; anything else is masked.
 */
function unwrapped(error: GraphQLError): GraphQLError {
  return error.extensions.code === undefined && error.originalError instanceof GraphQLError
    ? error.originalError
    : error;
}

/** One operation on a socket, from its subscribe message until it completes. */
interface RunningOperation {
  readonly record: RequestRecord;
  /** Its log line and metrics are written; a subscription's are when it starts. */
  finished: boolean;
}

/** What one socket holds, beside graphql-ws's own context. */
interface SocketState {
  readonly ip: string | undefined;
  userID?: string;
  /** Operations admitted and not yet completed; each holds one of its user's operation slots. */
  readonly operations: Map<string, RunningOperation>;
  /** Operations refused in onSubscribe, until graphql-ws sends their error (see onError). */
  readonly refused: Map<string, RunningOperation>;
}

/** Counts per key (an address, a user) that forget a key when it reaches 0. */
class Tally {
  private readonly counts = new Map<string, number>();
  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }
  add(key: string): void {
    this.counts.set(key, this.get(key) + 1);
  }
  remove(key: string): void {
    const left = this.get(key) - 1;
    if (left > 0) this.counts.set(key, left);
    else this.counts.delete(key);
  }
}

type Extra = {
  readonly socket: WebSocket;
  readonly request: http.IncomingMessage;
  readonly state: SocketState;
  /** The connection under `socket`: corked around several messages, they go out in one write. */
  readonly stream: Duplex;
};

/**
 * Serves the graphql-ws protocol on the HTTP server's GraphQL path. Every operation, a query and a
 * mutation as much as a subscription, passes the same gate as over HTTP (document limits,
 * introspection, cost, write rate limit by user and address, masking, the log line and metrics),
 * so the socket is no way around a policy. The socket itself is capped per address, per user and
 * per message size; refusals are close codes (see docs/production.md "Security"), and nothing a client
 * sends writes anything but JSON log lines.
 */
export function attachSubscriptionServer(options: SubscriptionServerOptions): SubscriptionServer {
  const { httpServer, services, gate, limits, logger } = options;
  // No permessage-deflate (ws's default, said here so it stays): compressing every message for
  // every socket would cost more CPU than the small JSON messages save on the wire.
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: limits.maxPayloadBytes,
    handleProtocols,
    perMessageDeflate: false,
  });
  const socketsByAddress = new Tally();
  const socketsByUser = new Tally();
  const operationsByUser = new Tally();
  // A socket whose account is deactivated or deleted is closed as one with a refused token would be.
  const authenticated = new Map<WebSocket, Viewer>();
  const stopWatchingAccounts = services.accountStates.onChange(() => {
    for (const [socket, viewer] of authenticated) {
      const refusal = services.accountStates.refusalOf(viewer);
      if (refusal !== undefined) socket.close(CLOSE_FORBIDDEN, String(refusal.extensions.reason));
    }
  });

  const onUpgrade = (request: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    if ((request.url ?? '/').split('?')[0] !== options.path) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const ip = clientAddress(request, options.trustProxy);
    const addressKey = ip ?? 'unknown';
    if (socketsByAddress.get(addressKey) >= limits.socketsPerAddress) {
      const body = JSON.stringify({
        errors: [
          {
            message: `At most ${limits.socketsPerAddress} WebSocket connections per address`,
            extensions: { code: 'TOO_MANY_CONNECTIONS', limit: limits.socketsPerAddress },
          },
        ],
      });
      socket.end(
        'HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Type: application/json\r\n' +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      return;
    }
    // Counted from the upgrade until the TCP connection ends, whatever happens in between.
    socketsByAddress.add(addressKey);
    socket.once('close', () => socketsByAddress.remove(addressKey));
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request, ip, socket));
  };
  httpServer.on('upgrade', onUpgrade);

  const format = (errors: readonly GraphQLError[]) => errors.map((error) => gate.formatError(error.toJSON(), error));

  const finish = (operation: RunningOperation, outcome: 'success' | 'error', codes: readonly unknown[] = []) => {
    if (operation.finished) return;
    operation.finished = true;
    for (const code of codes) operation.record.errorCodes.push(typeof code === 'string' ? code : 'UNKNOWN');
    operation.record.operations[0] ??= { name: undefined, outcome };
    operation.record.operations[0].outcome = outcome;
    gate.finish(operation.record, { transport: 'websocket', path: options.path });
  };

  const release = (state: SocketState, id: string) => {
    if (!state.operations.delete(id)) return;
    if (state.userID !== undefined) operationsByUser.remove(state.userID);
  };

  /** A result with errors as it goes out: its errors labelled and masked, and counted in its operation's record. */
  const withFormattedErrors = (
    state: SocketState,
    id: string,
    result: ExecutionResult,
    resultErrors: readonly GraphQLError[],
  ): FormattedExecutionResult => {
    const errors = format(resultErrors.map(labelled));
    const running = state.operations.get(id);
    if (running !== undefined) {
      finish(
        running,
        'error',
        errors.map((error) => error.extensions?.code),
      );
    }
    return { ...result, errors };
  };

  const refuse = (state: SocketState, id: string, running: RunningOperation, errors: GraphQLError[]) => {
    release(state, id);
    state.refused.set(id, running);
    return errors;
  };

  const server = makeServer<Record<string, unknown>, Extra>({
    schema: options.schema,
    subscribe: subscribeWithCursors,
    onConnect: async (ctx) => {
      let viewer;
      try {
        viewer = await authenticate(services, authorizationOf(ctx.connectionParams));
      } catch {
        return false;
      }
      const { socket, state } = ctx.extra;
      if (socketsByUser.get(viewer.userID) >= limits.socketsPerUser) {
        socket.close(CLOSE_POLICY_VIOLATION, `At most ${limits.socketsPerUser} connections per user`);
        return false;
      }
      state.userID = viewer.userID;
      socketsByUser.add(viewer.userID);
      authenticated.set(socket, viewer);
      // An authenticated connection makes its user ONLINE until it closes (see PresenceTracker).
      services.presence.connected(viewer.userID, viewer.issuedAt);
      socket.once('close', () => {
        socketsByUser.remove(viewer.userID);
        authenticated.delete(socket);
        services.presence.disconnected(viewer.userID);
      });
      // A socket outlives its token only until the token expires: then it is closed like one that
      // presented an invalid token, and the client reconnects with a fresh one.
      if (viewer.expiresAt !== undefined) {
        const timer = setTimeout(
          () => socket.close(CLOSE_FORBIDDEN, 'Token expired'),
          Math.min(Math.max(viewer.expiresAt - Date.now(), 0), MAX_TIMER_MS),
        );
        socket.once('close', () => clearTimeout(timer));
      }
      return true;
    },

    onSubscribe: async (ctx, id, payload) => {
      const { state } = ctx.extra;
      const record = startOperationRecord(state.ip);
      const running: RunningOperation = { record, finished: false };
      // The operation being started is already in graphql-ws's list.
      if (Object.keys(ctx.subscriptions).length > limits.subscriptionsPerConnection) {
        return refuse(state, id, running, [
          new ForbiddenError(
            ErrorReason.TOO_MANY_SUBSCRIPTIONS,
            `A connection may hold at most ${limits.subscriptionsPerConnection} operations at once`,
          ),
        ]);
      }
      if (state.userID !== undefined && operationsByUser.get(state.userID) >= limits.subscriptionsPerUser) {
        return refuse(state, id, running, [
          new ForbiddenError(
            ErrorReason.TOO_MANY_SUBSCRIPTIONS,
            `A user may hold at most ${limits.subscriptionsPerUser} operations at once on this server`,
          ),
        ]);
      }
      // Held from here, before anything is awaited, so concurrent subscribe messages cannot overshoot.
      state.operations.set(id, running);
      if (state.userID !== undefined) operationsByUser.add(state.userID);

      const document = gate.prepare(payload.query);
      if (!('kind' in document)) return refuse(state, id, running, [...document]);
      const operation = getOperationAST(document, payload.operationName);
      if (!operation) {
        return refuse(state, id, running, [operationNotFound(payload.operationName)]);
      }
      record.operations.push({ name: operation.name?.value, outcome: 'success' });
      const variables = payload.variables ?? {};
      const context = await createContext(services, authorizationOf(ctx.connectionParams), record);
      try {
        await gate.admit({
          document,
          operation,
          variables,
          writer: { userID: state.userID, ip: state.ip },
          transport: 'websocket',
        });
      } catch (refusal) {
        const error = refusal instanceof GraphQLError ? refusal : new GraphQLError(String(refusal));
        return refuse(state, id, running, [error]);
      }
      // A subscription's log line says it started; a query's or mutation's, that it answered.
      if (operation.operation === 'subscription') finish(running, 'success');
      const args: ExecutionArgs = {
        schema: options.schema,
        document,
        operationName: payload.operationName,
        variableValues: variables,
        contextValue: context,
      };
      OPERATION_TYPES.set(args, operation.operation);
      if (operation.operation === 'subscription') {
        const { socket, stream } = ctx.extra;
        TARGETS.set(args, {
          idJSON: JSON.stringify(id),
          nextOf: (result) => {
            const payload = result.errors ? withFormattedErrors(state, id, result, result.errors) : result;
            return JSON.stringify({ id, type: 'next', payload });
          },
          write: (messages, sent) => {
            if (socket.readyState !== socket.OPEN) return sent();
            const last = messages.length - 1;
            if (last > 0) stream.cork();
            messages.forEach((data, index) => socket.send(data, index === last ? () => sent() : undefined));
            if (last > 0) stream.uncork();
          },
        });
      }
      return args;
    },

    onNext: async (ctx, id, _payload, args, next) => {
      let result = next;
      // As over HTTP (apollo-gate.ts, fast-path.ts): with replicas, a mutation hands back its write
      // position, and this instance remembers it for the writer's later reads.
      if (OPERATION_TYPES.get(args) === 'mutation') {
        const readAfter = await gate.afterMutation(ctx.extra.state.userID);
        if (readAfter !== undefined) result = { ...result, extensions: { ...result.extensions, readAfter } };
      }
      if (!result.errors) return result === next ? undefined : result;
      return withFormattedErrors(ctx.extra.state, id, result, result.errors);
    },

    onError: (ctx, id, _payload, errors) => {
      const formatted = format(errors.map(unwrapped));
      const { state } = ctx.extra;
      const running = state.refused.get(id) ?? state.operations.get(id);
      state.refused.delete(id);
      if (running !== undefined) {
        finish(
          running,
          'error',
          formatted.map((error) => error.extensions?.code),
        );
      }
      release(state, id);
      return formatted;
    },

    onComplete: (ctx, id) => {
      const { state } = ctx.extra;
      const running = state.operations.get(id);
      if (running !== undefined) finish(running, 'success');
      release(state, id);
    },
  });

  wss.on('connection', (socket: WebSocket, request: http.IncomingMessage, ip: string | undefined, stream: Duplex) => {
    const state: SocketState = { ip, operations: new Map(), refused: new Map() };
    // ws reports a client's protocol violations (an oversized or malformed frame) here and closes
    // the socket itself (1009, 1002); they are the client's doing, so one JSON line at debug level.
    socket.on('error', (error: Error & { code?: string }) => {
      logger.debug({ ip, code: error.code, reason: error.message }, 'websocket closed for a protocol violation');
    });
    let pongWait: NodeJS.Timeout | undefined;
    const ping = setInterval(() => {
      if (socket.readyState !== socket.OPEN) return;
      pongWait = setTimeout(() => socket.terminate(), KEEPALIVE_MS);
      socket.once('pong', () => clearTimeout(pongWait));
      socket.ping();
    }, KEEPALIVE_MS);

    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(data, (error) => (error ? reject(error) : resolve()));
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on('message', async (data) => {
            try {
              await handle(String(data));
            } catch (error) {
              logger.error({ err: error, ip }, 'a WebSocket message could not be handled');
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            }
          }),
      },
      { socket, request, state, stream },
    );
    socket.once('close', (code, reason) => {
      clearInterval(ping);
      clearTimeout(pongWait);
      for (const id of [...state.operations.keys()]) release(state, id);
      state.refused.clear();
      void closed(code, String(reason));
    });
  });

  return {
    async close() {
      stopWatchingAccounts();
      httpServer.off('upgrade', onUpgrade);
      for (const client of wss.clients) client.close(CLOSE_GOING_AWAY, 'Server is shutting down');
      const deadline = Date.now() + CLOSE_GRACE_MS;
      while (wss.clients.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** graphql-ws's context of one socket, as the hooks above see it. */
export type SocketContext = ProtocolContext<Record<string, unknown>, Extra>;

/** What onSubscribe records of each operation it admits, for the hooks and `subscribe` below. */
const OPERATION_TYPES = new WeakMap<ExecutionArgs, OperationTypeNode>();

/** Where a subscription's messages go: its socket, written to directly (see `subscribeWithCursors`). */
interface MessageTarget {
  /** The operation's ID, as JSON. */
  readonly idJSON: string;
  /** The `next` message of a result that needs more than its shared JSON (errors to format), as graphql-ws makes it. */
  nextOf(result: ExecutionResult): string;
  /** Writes these messages in one write; `sent` is called once written, or dropped with the socket. */
  write(messages: readonly string[], sent: () => void): void;
}
const TARGETS = new WeakMap<ExecutionArgs, MessageTarget>();

/** One message made of a delivered profile: the result, and for one without errors its JSON, made once. */
interface SharedMessage {
  readonly result: ExecutionResult;
  readonly json: string | undefined;
}

/**
 * Per delivered profile (one object per audience, see ProfileEventHub): the message each selection
 * made of it, so subscribers that share a selection share one execution and one JSON. The profile's
 * fields resolve from the object alone (User has only plain fields), so the caller's context plays
 * no part. A promise while an execution is asynchronous: the subscribers woken by one delivery all
 * ask before it has finished.
 */
const MESSAGES = new WeakMap<object, Map<string, SharedMessage | Promise<SharedMessage>>>();

/**
 * What a subscription's messages depend on besides the delivered object: its document and the
 * variables it uses outside the subscription field's own arguments (those choose whom to watch,
 * not what a message holds), so subscribers watching different users with one query share it.
 * Undefined when the document has no source text to key on.
 */
function selectionKeyOf(args: ExecutionArgs): string | undefined {
  const text = args.document.loc?.source.body;
  if (text === undefined) return undefined;
  const operation = getOperationAST(args.document, args.operationName);
  if (operation === null || operation === undefined) return undefined;
  const rootArguments = new Set<ArgumentNode>();
  for (const selection of operation.selectionSet.selections) {
    if (selection.kind === Kind.FIELD) for (const argument of selection.arguments ?? []) rootArguments.add(argument);
  }
  const used = new Set<string>();
  visit(args.document, {
    VariableDefinition: () => false,
    Argument: (node) => (rootArguments.has(node) ? false : undefined),
    Variable: (node) => void used.add(node.name.value),
  });
  const variables = args.variableValues ?? {};
  const values = [...used].sort().map((name) => [name, variables[name]]);
  return `${args.operationName ?? ''}\u0000${JSON.stringify(values)}\u0000${text}`;
}

/** The subscription's selection executed over a delivered profile, with its cursor; synchronous when the execution is. */
function messageOf(args: ExecutionArgs, payload: unknown): SharedMessage | Promise<SharedMessage> {
  const cursor = typeof payload === 'object' && payload !== null ? cursorOf(payload) : undefined;
  const finish = (executed: ExecutionResult): SharedMessage => {
    const result = cursor === undefined ? executed : { ...executed, extensions: { ...executed.extensions, cursor } };
    return { result, json: result.errors ? undefined : JSON.stringify(result) };
  };
  const executed = execute({ ...args, rootValue: payload });
  return executed instanceof Promise ? executed.then(finish) : finish(executed);
}

/** The message of `payload` for this selection, made by the first subscriber that asks. */
function sharedMessageOf(args: ExecutionArgs, key: string, payload: object): SharedMessage | Promise<SharedMessage> {
  let results = MESSAGES.get(payload);
  if (results === undefined) MESSAGES.set(payload, (results = new Map()));
  let message = results.get(key);
  if (message === undefined) results.set(key, (message = messageOf(args, payload)));
  return message;
}

/**
 * graphql-js's subscribe, plus each message's cursor: the outbox event a delivered profile reflects
 * goes into the message's `extensions.cursor` (see ProfileEventHub), which a client passes back as
 * `since` when it subscribes again.
 *
 * A feed of the hubs (LatestFeed) is consumed here rather than iterated by graphql-ws: each
 * message is written to the socket as the shared JSON inside this subscription's
 * `{"id":...,"type":"next","payload":...}`, with no promise, no validation and no serialization per
 * subscriber, which at ten thousand sockets was most of a delivery's cost. graphql-ws's iterator
 * then only ends when the feed does, and completing or closing still ends the feed through it.
 */
async function subscribeWithCursors(
  args: ExecutionArgs,
): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const source = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in source)) return source;
  const key = selectionKeyOf(args);
  const target = TARGETS.get(args);
  if (source instanceof LatestFeed && key !== undefined && target !== undefined) {
    return writtenDirectly(source, args, key, target);
  }
  const iterator = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  const message = async (step: IteratorResult<unknown>): Promise<IteratorResult<ExecutionResult>> => {
    if (step.done === true) return { done: true, value: undefined };
    const payload = step.value;
    const shared =
      typeof payload === 'object' && payload !== null && key !== undefined
        ? sharedMessageOf(args, key, payload)
        : messageOf(args, payload);
    return { done: false, value: (await shared).result };
  };
  // Not an async generator: its return() would wait for the pending next(), and a subscription
  // completed while no change comes would never release its source.
  const messages: AsyncIterableIterator<ExecutionResult> = {
    next: async () => message(await iterator.next()),
    return: async () => {
      await iterator.return?.();
      return { done: true, value: undefined };
    },
    throw: async (error: unknown) => {
      await iterator.return?.();
      throw error;
    },
    [Symbol.asyncIterator]: () => messages,
  };
  return messages;
}

/** A feed's messages written straight to the socket (see subscribeWithCursors); what graphql-ws iterates ends with the feed. */
function writtenDirectly(
  feed: LatestFeed<{ readonly userID: string }>,
  args: ExecutionArgs,
  key: string,
  target: MessageTarget,
): AsyncIterableIterator<ExecutionResult> {
  const prefix = `{"id":${target.idJSON},"type":"next","payload":`;
  const nextOf = (message: SharedMessage) =>
    message.json === undefined ? target.nextOf(message.result) : `${prefix}${message.json}}`;
  const ended = feed.consume((payloads, handled) => {
    const shared = payloads.map((payload) => sharedMessageOf(args, key, payload));
    if (shared.some((message) => message instanceof Promise)) {
      Promise.all(shared).then((messages) => target.write(messages.map(nextOf), handled), handled);
    } else {
      target.write((shared as SharedMessage[]).map(nextOf), handled);
    }
  });
  const messages: AsyncIterableIterator<ExecutionResult> = {
    next: () => ended.then(() => ({ done: true, value: undefined })),
    return: async () => {
      await feed.return();
      return { done: true, value: undefined };
    },
    throw: async (error: unknown) => {
      await feed.return();
      throw error;
    },
    [Symbol.asyncIterator]: () => messages,
  };
  return messages;
}
