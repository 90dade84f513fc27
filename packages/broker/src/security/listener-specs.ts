/**
 * Kafka's listener settings: `listeners=NAME://HOST:PORT,...` (NAME is a security protocol, or
 * any name that `listener.security.protocol.map` maps to one), `advertised.listeners` by the same
 * names (a listener without an advertised entry advertises its own address), and the protocol
 * each listener speaks. `HOST:PORT` alone is the PLAINTEXT listener, as older releases took it.
 *
 * Invariants: listener names are unique, and so are ports (port 0 excepted: each picks its own).
 */
import type { StaticSettings } from '../config/static-settings.ts';
import { securityProtocols, securitySettingOf } from './security-setting-catalogue.ts';

export interface ListenerAddress {
  /** Listener name as configured, upper-cased (Kafka compares them case-insensitively). */
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

export interface ListenerSpec extends ListenerAddress {
  readonly securityProtocol: 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';
  /** What clients of this listener are told (Metadata, DescribeCluster). */
  readonly advertised?: { readonly host: string; readonly port: number };
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

/** listener.security.protocol.map as NAME -> protocol. */
export function protocolMapOf(settings: StaticSettings | undefined): Map<string, string> {
  const text = securitySettingOf(settings, 'listener.security.protocol.map') ?? '';
  const map = new Map<string, string>();
  for (const item of text.split(',')) {
    const [name, protocol] = item.trim().split(':');
    if (name !== undefined && protocol !== undefined) {
      map.set(name.toUpperCase(), protocol.toUpperCase());
    }
  }
  return map;
}

/**
 * Every listener of `listenersText` with its protocol and advertised address; throws an Error
 * that names the listener when its protocol is unknown or an advertised name has no listener.
 */
export function listenerSpecsOf(
  settings: StaticSettings | undefined,
  listenersText: string,
  advertisedText: string | undefined,
): ListenerSpec[] {
  const parsed = parseListenerList(listenersText);
  if ('problem' in parsed) throw new Error(`listeners: ${parsed.problem}`);
  const advertised = new Map<string, ListenerAddress>();
  if (advertisedText !== undefined && advertisedText.trim() !== '') {
    const list = parseListenerList(advertisedText);
    if ('problem' in list) throw new Error(`advertised.listeners: ${list.problem}`);
    for (const entry of list.listeners) advertised.set(entry.name, entry);
  }
  const protocols = protocolMapOf(settings);
  const specs = parsed.listeners.map((listener): ListenerSpec => {
    const protocol = protocols.get(listener.name);
    if (protocol === undefined || !securityProtocols.includes(protocol)) {
      throw new Error(
        `listener ${listener.name} has no security protocol: add it to ` +
          'listener.security.protocol.map (NAME:PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL)',
      );
    }
    const shown = advertised.get(listener.name);
    return {
      ...listener,
      securityProtocol: protocol as ListenerSpec['securityProtocol'],
      ...(shown === undefined ? {} : { advertised: { host: shown.host, port: shown.port } }),
    };
  });
  for (const name of advertised.keys()) {
    if (!specs.some((spec) => spec.name === name)) {
      throw new Error(`advertised.listeners names ${name}, which is not in listeners`);
    }
  }
  return specs;
}

export function usesTls(spec: ListenerSpec): boolean {
  return spec.securityProtocol === 'SSL' || spec.securityProtocol === 'SASL_SSL';
}

export function usesSasl(spec: ListenerSpec): boolean {
  return spec.securityProtocol === 'SASL_PLAINTEXT' || spec.securityProtocol === 'SASL_SSL';
}
