/**
 * The broker's logger: one line per event on stderr. By default a JSON object per line from
 * pino (`{"level":"warn","time":"…","subsystem":"broker","msg":"…",…fields}`), for log
 * shippers; `log.format=text` prints `time LEVEL subsystem message key=value` for people
 * reading a terminal. Secrets never reach it; callers pass only identifiers and sizes.
 * Lines are written synchronously, so the last words before an exit (ADR 0014) are not lost.
 */
import { pino, stdTimeFunctions } from 'pino';

export type LogFields = Readonly<Record<string, string | number | bigint | boolean | undefined>>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export type LogFormat = 'json' | 'text';
export const logFormats: readonly LogFormat[] = ['json', 'text'];

function format(level: string, subsystem: string, message: string, fields?: LogFields): string {
  let line = `${new Date().toISOString()} ${level} ${subsystem} ${message}`;
  for (const [key, value] of Object.entries(fields ?? {})) {
    if (value !== undefined) line += ` ${key}=${String(value)}`;
  }
  return line + '\n';
}

/** JSON has no bigint: offsets and producer ids are written as decimal strings. */
function jsonFields(fields: LogFields | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields ?? {})) {
    if (value !== undefined) out[key] = typeof value === 'bigint' ? value.toString() : value;
  }
  return out;
}

export function createLogger(
  subsystem: string,
  quiet = false,
  logFormat: LogFormat = 'json',
): Logger {
  if (logFormat === 'text') {
    const write = (level: string, message: string, fields?: LogFields): void => {
      if (quiet && level === 'INFO') return;
      process.stderr.write(format(level, subsystem, message, fields));
    };
    return {
      info: (message, fields) => write('INFO', message, fields),
      warn: (message, fields) => write('WARN', message, fields),
      error: (message, fields) => write('ERROR', message, fields),
    };
  }
  const logger = pino(
    {
      base: { subsystem },
      level: quiet ? 'warn' : 'info',
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ fd: 2, sync: true }),
  );
  return {
    info: (message, fields) => logger.info(jsonFields(fields), message),
    warn: (message, fields) => logger.warn(jsonFields(fields), message),
    error: (message, fields) => logger.error(jsonFields(fields), message),
  };
}
