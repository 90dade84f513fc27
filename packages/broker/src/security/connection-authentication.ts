/**
 * One connection's authentication state, as Kafka's SaslServerAuthenticator keeps it, and the
 * gate every request passes (RequestRouter asks `refusal` first):
 *
 * - On a PLAINTEXT or SSL listener the connection is authenticated from the start (principal
 *   User:ANONYMOUS, or the client certificate's mapped subject on SSL); SaslHandshake and
 *   SaslAuthenticate there are answered ILLEGAL_SASL_STATE, as Kafka's KafkaApis does.
 * - On a SASL listener, until authentication succeeds, only ApiVersions, SaslHandshake and
 *   SaslAuthenticate are served; any other request closes the connection (ILLEGAL_SASL_STATE is
 *   not answered: Kafka closes too). A failed authentication is logged (listener, peer,
 *   mechanism, the user tried, the reason), answered SASL_AUTHENTICATION_FAILED after
 *   `connection.failed.authentication.delay.ms`, and the connection closes after that answer.
 * - KIP-368: with `connections.max.reauth.ms` > 0 a session lasts that long (an OAuth token's
 *   exp cuts it shorter); SaslAuthenticate v1+ tells the client, which re-authenticates on the
 *   same connection (a new SaslHandshake, same principal). A request other than SASL arriving
 *   after the session ended closes the connection.
 * - SaslHandshake v0 (kafka-python): the tokens that follow are raw frames, not requests
 *   (`expectsRawToken`), answered with raw frames.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiKey, ErrorCode } from '@tributary/protocol';
import type { Logger } from '../logger.ts';
import type { SaslServer } from './sasl/sasl-server.ts';

export interface SaslListenerConfig {
  readonly listener: string;
  readonly enabledMechanisms: readonly string[];
  /** A new server for one authentication, or undefined if the mechanism is not enabled. */
  readonly createServer: (mechanism: string) => SaslServer | undefined;
  readonly reauthMs: number;
  readonly failedAuthenticationDelayMs: number;
  readonly maxReceiveBytes: number;
}

export interface SaslAnswer {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly authBytes: Buffer;
  readonly sessionLifetimeMs: bigint;
}

const preAuthenticationApis: ReadonlySet<number> = new Set([
  ApiKey.ApiVersions,
  ApiKey.SaslHandshake,
  ApiKey.SaslAuthenticate,
]);
const reauthenticationApis: ReadonlySet<number> = new Set([
  ApiKey.SaslHandshake,
  ApiKey.SaslAuthenticate,
]);

/** A request the connection may not send now; the connection closes (Kafka does the same). */
export class RequestRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RequestRefusedError';
  }
}

export class ConnectionAuthentication {
  readonly sasl: SaslListenerConfig | undefined;
  readonly #log: Logger;
  readonly #peer: string;
  readonly #now: () => number;
  #principal: string;
  #authenticated: boolean;
  #server: SaslServer | undefined;
  #rawTokens = false;
  #sessionEndsAtMs: number | undefined;
  #mustClose: string | undefined;

  constructor(options: {
    sasl: SaslListenerConfig | undefined;
    principal: string;
    log: Logger;
    peer: string;
    now?: () => number;
  }) {
    this.sasl = options.sasl;
    this.#principal = options.principal;
    this.#authenticated = options.sasl === undefined;
    this.#log = options.log;
    this.#peer = options.peer;
    this.#now = options.now ?? Date.now;
  }

  get principal(): string {
    return this.#principal;
  }

  get authenticated(): boolean {
    return this.#authenticated;
  }

  /** The next frame is a raw SASL token (after SaslHandshake v0), not a request. */
  get expectsRawToken(): boolean {
    return this.#rawTokens;
  }

  /** Why the connection must close once the answers already made are written; or undefined. */
  get mustClose(): string | undefined {
    return this.#mustClose;
  }

  /** Largest frame this connection may send now (sasl.server.max.receive.size before auth). */
  frameMaxBytes(socketRequestMaxBytes: number): number {
    if (this.sasl === undefined || this.#authenticated) return socketRequestMaxBytes;
    return Math.min(socketRequestMaxBytes, this.sasl.maxReceiveBytes);
  }

  /** Why a request of `apiKey` may not be served now (the connection closes), or undefined. */
  refusal(apiKey: number): string | undefined {
    if (this.sasl === undefined) return undefined;
    if (!this.#authenticated) {
      return preAuthenticationApis.has(apiKey)
        ? undefined
        : `request (API key ${apiKey}) before SASL authentication`;
    }
    const ends = this.#sessionEndsAtMs;
    if (ends !== undefined && this.#now() >= ends && !reauthenticationApis.has(apiKey)) {
      return `session expired (connections.max.reauth.ms) without re-authentication`;
    }
    return undefined;
  }

  /** SaslHandshake: picks the mechanism; an unknown one is UNSUPPORTED_SASL_MECHANISM (close). */
  handshake(mechanism: string, version: number): { errorCode: number; mechanisms: string[] } {
    const sasl = this.sasl;
    if (sasl === undefined) return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] };
    const mechanisms = [...sasl.enabledMechanisms];
    if (this.#server !== undefined) {
      this.#mustClose = 'SaslHandshake during an authentication';
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms };
    }
    const server = sasl.enabledMechanisms.includes(mechanism)
      ? sasl.createServer(mechanism)
      : undefined;
    if (server === undefined) {
      this.#logFailure(mechanism, undefined, 'mechanism not enabled');
      this.#mustClose = `unsupported SASL mechanism ${mechanism}`;
      return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms };
    }
    this.#server = server;
    this.#rawTokens = version === 0;
    return { errorCode: ErrorCode.NONE, mechanisms };
  }

  /** SaslAuthenticate (or a raw token): one step of the exchange the handshake started. */
  async authenticate(token: Buffer, apiVersion: number): Promise<SaslAnswer> {
    const server = this.#server;
    if (server === undefined) {
      this.#mustClose = 'SaslAuthenticate without SaslHandshake';
      return answer(
        ErrorCode.ILLEGAL_SASL_STATE,
        this.sasl === undefined
          ? 'SaslAuthenticate request received on a listener without SASL'
          : 'Unexpected SaslAuthenticate request: no SaslHandshake before it',
      );
    }
    const step = await server.evaluate(token);
    if (step.kind === 'challenge')
      return { ...answer(ErrorCode.NONE, null), authBytes: step.bytes };
    this.#server = undefined;
    this.#rawTokens = false;
    if (step.kind === 'failed') {
      this.#logFailure(server.mechanism, step.user, step.reason);
      await sleep(this.sasl?.failedAuthenticationDelayMs ?? 0);
      this.#mustClose = 'authentication failed';
      return answer(ErrorCode.SASL_AUTHENTICATION_FAILED, step.message);
    }
    if (this.#authenticated && step.principal !== this.#principal) {
      this.#logFailure(server.mechanism, step.principal, 're-authentication as another principal');
      this.#mustClose = 'principal changed on re-authentication';
      return answer(
        ErrorCode.SASL_AUTHENTICATION_FAILED,
        'Cannot change principals during re-authentication',
      );
    }
    const lifetimeMs = this.#sessionLifetimeMs(step.expiresAtMs);
    this.#principal = step.principal;
    this.#authenticated = true;
    this.#sessionEndsAtMs = lifetimeMs === 0 ? undefined : this.#now() + lifetimeMs;
    this.#log.info('authenticated', {
      listener: this.sasl?.listener,
      peer: this.#peer,
      mechanism: server.mechanism,
      principal: step.principal,
      sessionLifetimeMs: lifetimeMs,
      apiVersion,
    });
    return {
      ...answer(ErrorCode.NONE, null),
      authBytes: step.bytes,
      sessionLifetimeMs: BigInt(lifetimeMs),
    };
  }

  /** 0 without re-authentication; else the reauth period, cut at the credential's expiry. */
  #sessionLifetimeMs(expiresAtMs: number | undefined): number {
    const reauthMs = this.sasl?.reauthMs ?? 0;
    if (reauthMs <= 0) return 0;
    if (expiresAtMs === undefined) return reauthMs;
    return Math.max(1, Math.min(reauthMs, expiresAtMs - this.#now()));
  }

  #logFailure(mechanism: string, user: string | undefined, reason: string): void {
    this.#log.warn('authentication failed', {
      listener: this.sasl?.listener,
      peer: this.#peer,
      mechanism,
      user: user === undefined ? '(none)' : JSON.stringify(user),
      reason,
    });
  }
}

function answer(errorCode: number, errorMessage: string | null): SaslAnswer {
  return { errorCode, errorMessage, authBytes: Buffer.alloc(0), sessionLifetimeMs: 0n };
}
