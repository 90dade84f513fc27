/**
 * The text form of `listeners` and `advertised.listeners`: `NAME://HOST:PORT,...`, where
 * `HOST:PORT` alone is the PLAINTEXT listener. Parsing only (no settings, no protocols), so the
 * settings catalogue can check a value without depending on the rest of the security code.
 *
 * Invariants: listener names are unique, and so are ports (port 0 excepted: each picks its own).
 */

export interface ListenerAddress {
  /** Listener name as configured, upper-cased (Kafka compares them case-insensitively). */
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

const itemPattern = /^(?:([A-Za-z0-9_-]+):\/\/)?(\[[^\]]+\]|[^:,/[\]]*):(\d{1,5})$/;

export type ParsedListeners =
  { readonly listeners: readonly ListenerAddress[] } | { readonly problem: string };

/** `NAME://HOST:PORT,...`; an empty host means every interface (0.0.0.0). */
export function parseListenerList(value: string): ParsedListeners {
  const listeners: ListenerAddress[] = [];
  for (const raw of value.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const match = itemPattern.exec(item);
    if (match === null) return { problem: `'${item}': expected NAME://HOST:PORT or HOST:PORT` };
    const port = Number(match[3]);
    if (port > 65_535) return { problem: `'${item}': port must be at most 65535` };
    const name = (match[1] ?? 'PLAINTEXT').toUpperCase();
    if (listeners.some((listener) => listener.name === name)) {
      return { problem: `listener name ${name} appears twice` };
    }
    if (port !== 0 && listeners.some((listener) => listener.port === port)) {
      return { problem: `port ${port} appears twice` };
    }
    const host = (match[2] ?? '').replace(/^\[(.*)\]$/, '$1');
    listeners.push({ name, host, port });
  }
  if (listeners.length === 0) return { problem: 'no listener' };
  return { listeners };
}

export function checkListenerList(value: string): string | undefined {
  const parsed = parseListenerList(value);
  return 'problem' in parsed ? parsed.problem : undefined;
}
