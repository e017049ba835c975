// pino JSON logs. Services receive a logger and bind context with child loggers (topic/partition/offset,
// tenantId, queueId, blockId): the field names match the metrics' label names.
import { type Logger, pino } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      name: 'relayguard',
      level,
      base: { service: 'relayguard' },
      // Secrets never reach the logs, even when a caller logs a whole request or config object.
      redact: {
        paths: [
          'authorization',
          '*.authorization',
          'token',
          '*.token',
          'tokens',
          '*.tokens',
          'headers.authorization',
          'req.headers.authorization',
        ],
        censor: '[redacted]',
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

/** For tests and tools that must stay quiet. */
export const silentLogger: Logger = pino({ level: 'silent' });
