import type http from 'node:http';
import type { Logger } from 'pino';
import type { ServerState } from './http-routes.js';

/** A step of `stop()`, e.g. closing a WebSocket server so its clients get a proper close frame. */
export type ShutdownStep = () => Promise<void>;

/**
 * Stops the server: 1. stop accepting and report not ready; 2. run the steps in order (sockets are
 * told first); 3. wait for in-flight HTTP requests, up to `timeoutMs`, then cut their connections;
 * 4. the last step (stopping Apollo) after that.
 */
export function createShutdown(options: {
  readonly httpServer: http.Server;
  readonly state: ServerState;
  readonly steps: ShutdownStep[];
  readonly afterRequests: ShutdownStep;
  readonly timeoutMs: number;
  readonly logger: Logger;
}): () => Promise<void> {
  const { httpServer, state, steps, logger } = options;
  return async () => {
    state.stopping = true;
    const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
    httpServer.closeIdleConnections();
    for (const step of steps) {
      try {
        await step();
      } catch (error) {
        logger.error({ err: error }, 'a shutdown step failed');
      }
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), options.timeoutMs);
    });
    if (await Promise.race([closed.then(() => false), timedOut])) {
      logger.warn(
        { inFlight: state.inFlight },
        'requests still running at the shutdown deadline; closing their connections',
      );
      httpServer.closeAllConnections();
      await closed;
    }
    clearTimeout(timer);
    await options.afterRequests();
  };
}
