/** Parses `host:port`, `[v6]:port` or `:port` (an empty host means localhost). */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export function parseEndpoint(text: string): Endpoint {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (match === null || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`'${text}' is not HOST:PORT`);
  }
  const host = match[1] ?? match[2] ?? '';
  return { host: host === '' ? 'localhost' : host, port };
}
