import pino, { type Logger } from 'pino';

export function createLogger(options: { level?: string } = {}): Logger {
  return pino({
    level: options.level ?? 'info',
    base: { service: 'profile-service' },
    // Tokens never reach the log, whatever a caller passes in.
    redact: {
      // Explicit paths only: a wildcard makes every line (one per request) walk its object.
      paths: [
        'authorization',
        'headers.authorization',
        'req.headers.authorization',
        'req.headers.cookie',
        'connectionParams.authorization',
        'connectionParams.Authorization',
      ],
      censor: '[redacted]',
    },
  });
}
