/**
 * The broker's listeners (`listeners`, `listener.security.protocol.map`): one TCP or TLS server
 * (two for `localhost`: 127.0.0.1 and ::1, sharing one port) per listener, each handing its
 * connections over with what they need to know of the listener: its name and protocol, the TLS
 * client certificate's principal (SSL), and the SASL configuration (SASL_PLAINTEXT, SASL_SSL).
 *
 * TLS listeners (SSL, SASL_SSL) read their key, certificates and trusted CAs at start, and again
 * on `reloadTls()` (the broker calls it on SIGHUP): new connections get the new secure context,
 * open ones keep theirs. A reload that fails (a missing file, a key that does not match) is
 * logged and changes nothing. TLS handshakes that fail (plaintext sent to a TLS port, an untrusted
 * or missing client certificate under ssl.client.auth=required, TLS 1.0/1.1) are logged with the
 * peer, and the socket is closed by Node's TLS layer before any Kafka frame is read.
 */
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import {
  createServer as createTlsServer,
  type TLSSocket,
  type Server as TlsServer,
} from 'node:tls';
import type { StaticSettings } from './config/static-settings.ts';
import type { Logger } from './logger.ts';
import { usesSasl, usesTls, type ListenerSpec } from './security/listener-specs.ts';
import type { SaslListenerConfig } from './security/connection-authentication.ts';
import { securitySettingOf } from './security/security-setting-catalogue.ts';
import { distinguishedNameOf, SslPrincipalMapper } from './security/ssl-principal-mapper.ts';
import { loadTlsServerOptions, type TlsServerOptions } from './security/tls-server-options.ts';

/** What a new connection learns from the listener that accepted it. */
export interface AcceptedConnection {
  readonly socket: Socket;
  readonly listener: BoundListener;
  /** The principal before SASL: User:ANONYMOUS, or the client certificate's (SSL). */
  readonly principal: string;
}

export interface BoundListener {
  readonly spec: ListenerSpec;
  readonly port: number;
  readonly sasl: SaslListenerConfig | undefined;
}

export interface ListenerContext {
  readonly settings: StaticSettings | undefined;
  readonly log: Logger;
  readonly saslConfigOf: (listener: string) => SaslListenerConfig;
  readonly onConnection: (accepted: AcceptedConnection) => void;
}

export interface StartedListeners {
  readonly bound: readonly BoundListener[];
  reloadTls(): Promise<void>;
  close(): Promise<void>;
}

interface TlsListener {
  readonly name: string;
  readonly servers: readonly TlsServer[];
}

/** Starts every listener; on a failure closes those already started and throws. */
export async function startListeners(
  specs: readonly ListenerSpec[],
  context: ListenerContext,
): Promise<StartedListeners> {
  const servers: Server[] = [];
  const bound: BoundListener[] = [];
  const tlsListeners: TlsListener[] = [];
  const closeAll = (): Promise<void> =>
    Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve)))).then(
      () => undefined,
    );
  try {
    for (const spec of specs) {
      const sasl = usesSasl(spec) ? context.saslConfigOf(spec.name) : undefined;
      const tls = usesTls(spec)
        ? await loadTlsServerOptions(context.settings, spec.name)
        : undefined;
      const mapper = SslPrincipalMapper.parse(
        securitySettingOf(context.settings, 'ssl.principal.mapping.rules', {
          listener: spec.name,
        }) ?? 'DEFAULT',
      );
      let listener: BoundListener | undefined;
      const accept = (socket: Socket): void => {
        if (listener === undefined) {
          socket.destroy();
          return;
        }
        acceptSocket(socket, listener, { mapper, tls, log: context.log, context });
      };
      const started = await listenAll(spec.host, spec.port, () =>
        makeServer(spec, tls, accept, context.log),
      );
      servers.push(...started);
      listener = { spec, port: boundPort(started), sasl };
      bound.push(listener);
      if (tls !== undefined)
        tlsListeners.push({ name: spec.name, servers: started as TlsServer[] });
    }
  } catch (error: unknown) {
    await closeAll();
    throw error;
  }
  return {
    bound,
    reloadTls: () => reloadTls(tlsListeners, context),
    close: closeAll,
  };
}

function makeServer(
  spec: ListenerSpec,
  tls: TlsServerOptions | undefined,
  accept: (socket: Socket) => void,
  log: Logger,
): Server {
  if (tls === undefined) return createTcpServer(accept);
  const server = createTlsServer(
    {
      ...tls.secureContext,
      minVersion: tls.minVersion,
      maxVersion: tls.maxVersion,
      requestCert: tls.clientAuth !== 'none',
      rejectUnauthorized: tls.clientAuth === 'required',
    },
    accept,
  );
  server.on('tlsClientError', (error, socket) => {
    log.warn('TLS handshake failed', {
      listener: spec.name,
      peer: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`,
      error: error.message,
    });
  });
  return server;
}

function acceptSocket(
  socket: Socket,
  listener: BoundListener,
  options: {
    mapper: SslPrincipalMapper;
    tls: TlsServerOptions | undefined;
    log: Logger;
    context: ListenerContext;
  },
): void {
  let principal = 'User:ANONYMOUS';
  if (options.tls !== undefined) {
    const tlsSocket = socket as TLSSocket;
    const certificate = tlsSocket.getPeerCertificate(false);
    const presented = certificate !== null && Object.keys(certificate).length > 0;
    if (presented && !tlsSocket.authorized) {
      // ssl.client.auth=requested: a certificate that is sent must be one we trust.
      options.log.warn('TLS client certificate refused', {
        listener: listener.spec.name,
        peer: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`,
        error: String(tlsSocket.authorizationError),
      });
      socket.destroy();
      return;
    }
    if (presented && listener.spec.securityProtocol === 'SSL') {
      try {
        principal = `User:${options.mapper.nameOf(distinguishedNameOf(certificate.raw))}`;
      } catch (error: unknown) {
        options.log.warn('TLS client refused: no principal', {
          listener: listener.spec.name,
          error: error instanceof Error ? error.message : String(error),
        });
        socket.destroy();
        return;
      }
    }
  }
  if (principal !== 'User:ANONYMOUS') {
    options.log.info('TLS client authenticated', {
      listener: listener.spec.name,
      peer: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`,
      principal,
    });
  }
  options.context.onConnection({ socket, listener, principal });
}

async function reloadTls(
  listeners: readonly TlsListener[],
  context: ListenerContext,
): Promise<void> {
  for (const listener of listeners) {
    try {
      const options = await loadTlsServerOptions(context.settings, listener.name);
      for (const server of listener.servers) server.setSecureContext(options.secureContext);
      context.log.info('TLS certificates reloaded', { listener: listener.name });
    } catch (error: unknown) {
      context.log.error('TLS reload failed; the previous certificates stay in use', {
        listener: listener.name,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
}

/** Listens on `host`, or on both loopback families for 'localhost', sharing one port. */
async function listenAll(host: string, port: number, create: () => Server): Promise<Server[]> {
  const address = host === '' ? '0.0.0.0' : host;
  if (address !== 'localhost') return [await listen(create(), address, port)];
  const first = await listen(create(), '127.0.0.1', port);
  const servers = [first];
  try {
    const shared = boundPort(servers);
    servers.push(await listen(create(), '::1', shared));
  } catch {
    // No IPv6 loopback on this machine: 127.0.0.1 alone serves 'localhost'.
  }
  return servers;
}

function listen(server: Server, host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, ipv6Only: host === '::1' }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

export function boundPort(servers: readonly Server[]): number {
  const address = servers[0]?.address();
  if (address === null || address === undefined || typeof address === 'string') {
    throw new Error('listener has no TCP address');
  }
  return address.port;
}
