import pino, { type Logger } from 'pino';

export function createLogger(options: { level?: string } = {}): Logger {
  return pino({
    level: options.level ?? 'info',
    base: { service: 'profile-service' },
    // Tokens never reach the log, whatever a caller passes in.
    redact: {
      paths: ['req.headers.authorization', 'authorization', '*.authorization', 'req.headers.cookie'],
      censor: '[redacted]',
    },
  });
}
