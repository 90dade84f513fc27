/**
 * Minimal structured logger: one line per event on stderr, `level subsystem message key=value`.
 * Secrets never reach it; callers pass only identifiers and sizes.
 */

export type LogFields = Readonly<Record<string, string | number | bigint | boolean | undefined>>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

function format(level: string, subsystem: string, message: string, fields?: LogFields): string {
  let line = `${new Date().toISOString()} ${level} ${subsystem} ${message}`;
  for (const [key, value] of Object.entries(fields ?? {})) {
    if (value !== undefined) line += ` ${key}=${String(value)}`;
  }
  return line + '\n';
}

export function createLogger(subsystem: string, quiet = false): Logger {
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
