import winston from 'winston';

export type Logger = winston.Logger;

export interface LoggerOptions {
  service: string;
  level?: string;
  format?: 'json' | 'pretty';
  /** Tests pass a stream to capture lines; defaults to stdout. */
  stream?: NodeJS.WritableStream;
  silent?: boolean;
}

/** One JSON object per line on stdout, so `modelgate up`, Docker and Kubernetes can all collect it. */
export function createLogger(options: LoggerOptions): Logger {
  const format =
    options.format === 'pretty'
      ? winston.format.combine(
          winston.format.timestamp(),
          winston.format.printf(({ timestamp, level, message, service, ...rest }) => {
            const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
            return `${timestamp} ${level} [${service}] ${message}${extra}`;
          }),
        )
      : winston.format.combine(winston.format.timestamp(), winston.format.json());
  return winston.createLogger({
    level: options.level ?? 'info',
    defaultMeta: { service: options.service },
    format,
    silent: options.silent ?? false,
    transports: [new winston.transports.Stream({ stream: options.stream ?? process.stdout })],
  });
}

/** A logger that drops everything; for unit tests that do not look at logs. */
export function createSilentLogger(): Logger {
  return createLogger({ service: 'test', silent: true });
}
