import 'reflect-metadata';
import os from 'node:os';
import v8 from 'node:v8';
import { startApp } from './app.js';
import { ConfigError, loadConfig, loadEnvFile } from './config.js';
import { createLogger } from './logger.js';

async function main(): Promise<void> {
  let config;
  let envFile: string | undefined;
  try {
    envFile = loadEnvFile();
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  if (config.heapGrowingPercent > 0) {
    // Under load V8 otherwise lets the old generation grow severalfold before collecting it: with
    // 32 busy clients the process sat at 230-270 MiB, though an idle instance's heap holds 36 MiB.
    // V8 reads this factor each time it sets the next collection's limit, so setting it now works.
    v8.setFlagsFromString(`--heap-growing-percent=${config.heapGrowingPercent}`);
  }
  const logger = createLogger({ level: config.logLevel });
  logger.info({ mode: config.nodeEnv, ...(envFile ? { envFile } : {}) }, config.modeReason);
  if (config.jwt.usesDevelopmentSecret) {
    logger.warn('JWT_SECRET is unset: using the documented development secret (never in production)');
  }
  // Until the server is ready a signal ends the start at once; exiting runs the hook that stops an
  // embedded Postgres, whose own process group a terminal's Ctrl-C does not reach. One listener
  // stays installed from here to the end: removing the last one would restore the default action
  // (death by the signal) for a moment, and a Ctrl-C sent as soon as "ready" shows would land in it.
  let onSignal: (signal: NodeJS.Signals) => void = (signal) => process.exit(128 + os.constants.signals[signal]);
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  const app = await startApp(config, logger);
  // Switched before "ready" is logged, so a signal sent on reading it drains and stops.
  let stopping = false;
  onSignal = (signal) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // The server cuts connections still busy at SHUTDOWN_TIMEOUT_MS; this is the backstop after that.
    const timer = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, config.http.shutdownTimeoutMs + 5000);
    timer.unref();
    app.stop().then(
      () => {
        logger.info('stopped: requests drained, database pool closed');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  logger.info({ url: app.url }, `profile service ready at ${app.url}`);
  if (config.development) {
    const next =
      `Open ${app.url} in a browser: GraphiQL signs you in as demo_alice. ` +
      'For curl or a client, `npm run -s token -- <userID>` prints a token; Ctrl-C stops the server.';
    logger.info({ next }, 'what to do next');
    // Logs are JSON lines for machines; someone at a terminal also gets the same hint in words.
    if (process.stderr.isTTY) process.stderr.write(`\n  ${next}\n\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`profile service failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
