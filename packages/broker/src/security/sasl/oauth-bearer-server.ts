/**
 * SASL/OAUTHBEARER (RFC 7628, KIP-255) with the token checked as Kafka's
 * OAuthBearerValidatorCallbackHandler checks a JWT: signed by a key of the configured JWKS
 * (`sasl.oauthbearer.jwks.endpoint.url`, a file:/// URL read at each authentication so a rotated
 * key set applies at once; no URL the client chooses is ever read, CVE-2025-27817), `exp`
 * present and not past, `nbf`/`iat` not in the future (with `sasl.oauthbearer.clock.skew.seconds`
 * of slack), `aud` among `sasl.oauthbearer.expected.audience` and `iss` equal to
 * `sasl.oauthbearer.expected.issuer` when those are set. The principal is the
 * `sasl.oauthbearer.sub.claim.name` claim; an authorization id must equal it.
 *
 * The client's first message is `n,[a=authzid],^Aauth=Bearer <jwt>^A[key=value^A]^A`. A refused
 * token is answered as RFC 7628 §3.2.2 and Kafka do: an error challenge
 * `{"status":"invalid_token"}`, which the client acknowledges with a lone ^A, then the failure.
 * The session ends at the token's exp (KIP-368 takes the earlier of it and
 * connections.max.reauth.ms).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { failed, type SaslServer, type SaslStep } from './sasl-server.ts';

export interface OAuthBearerSettings {
  /** file:/// URL of the JWKS. */
  readonly jwksUrl: string | null;
  readonly expectedAudience: readonly string[];
  readonly expectedIssuer: string | null;
  readonly subClaimName: string;
  readonly clockSkewSeconds: number;
}

const invalidToken = '{"status":"invalid_token"}';
const separator = '\u0001';

export class OAuthBearerServer implements SaslServer {
  readonly mechanism = 'OAUTHBEARER';
  readonly #settings: OAuthBearerSettings;
  /** Set after an error challenge: the next (last) client message ends the exchange. */
  #refusal: { reason: string; user?: string } | undefined;
  #finished = false;

  constructor(settings: OAuthBearerSettings) {
    this.#settings = settings;
  }

  async evaluate(token: Buffer): Promise<SaslStep> {
    if (this.#finished) return failed(invalidToken, 'token after the exchange ended');
    const refusal = this.#refusal;
    if (refusal !== undefined) {
      this.#finished = true;
      return failed(invalidToken, refusal.reason, refusal.user);
    }
    const message = parseInitialResponse(token.toString('utf8'));
    if ('problem' in message) {
      this.#finished = true;
      return failed(
        `Invalid OAUTHBEARER client first message: ${message.problem}`,
        message.problem,
      );
    }
    const checked = await this.#validate(message.token);
    if ('problem' in checked) return this.#refuse(checked.problem, checked.user);
    const { principalName, expiresAtMs } = checked;
    if (message.authorizationId !== '' && message.authorizationId !== principalName) {
      return this.#refuse('authorization id differs from the token subject', principalName);
    }
    this.#finished = true;
    return {
      kind: 'done',
      bytes: Buffer.alloc(0),
      principal: `User:${principalName}`,
      expiresAtMs,
    };
  }

  #refuse(reason: string, user?: string): SaslStep {
    this.#refusal = { reason, ...(user === undefined ? {} : { user }) };
    return { kind: 'challenge', bytes: Buffer.from(invalidToken, 'utf8') };
  }

  async #validate(
    token: string,
  ): Promise<{ principalName: string; expiresAtMs: number } | { problem: string; user?: string }> {
    const settings = this.#settings;
    if (settings.jwksUrl === null) return { problem: 'sasl.oauthbearer.jwks.endpoint.url unset' };
    let keys: JSONWebKeySet;
    try {
      keys = JSON.parse(await readFile(fileURLToPath(settings.jwksUrl), 'utf8')) as JSONWebKeySet;
    } catch (error: unknown) {
      return { problem: `JWKS unreadable: ${error instanceof Error ? error.message : error}` };
    }
    try {
      const { payload } = await jwtVerify(token, createLocalJWKSet(keys), {
        clockTolerance: settings.clockSkewSeconds,
        requiredClaims: ['exp', settings.subClaimName],
        ...(settings.expectedIssuer === null ? {} : { issuer: settings.expectedIssuer }),
        ...(settings.expectedAudience.length === 0
          ? {}
          : { audience: [...settings.expectedAudience] }),
      });
      const subject = payload[settings.subClaimName];
      if (typeof subject !== 'string' || subject === '') {
        return { problem: `claim ${settings.subClaimName} is not a non-empty string` };
      }
      return { principalName: subject, expiresAtMs: (payload.exp ?? 0) * 1000 };
    } catch (error: unknown) {
      const code = (error as { code?: unknown }).code;
      const text = error instanceof Error ? error.message : String(error);
      return { problem: `${typeof code === 'string' ? `${code}: ` : ''}${text}` };
    }
  }
}

type InitialResponse = { authorizationId: string; token: string } | { problem: string };

function parseInitialResponse(message: string): InitialResponse {
  // gs2 header `n,[a=authzid],` then `^Akey=value` pairs and a closing `^A^A`.
  const headerEnd = message.indexOf(',', 2);
  const authzid = message.slice(2, headerEnd);
  const body = message.slice(headerEnd + 1);
  const framed = body.startsWith(separator) && body.endsWith(separator + separator);
  if (!message.startsWith('n,') || headerEnd < 0 || !framed) {
    return { problem: 'expected n,[a=authzid],^Aauth=Bearer <token>^A^A' };
  }
  if (authzid !== '' && !authzid.startsWith('a=')) return { problem: 'malformed gs2 header' };
  let token: string | undefined;
  for (const pair of body.slice(1, -2).split(separator)) {
    const at = pair.indexOf('=');
    if (at <= 0) return { problem: 'malformed key=value pair' };
    if (pair.slice(0, at) === 'auth') {
      const bearer = /^Bearer +(\S+)$/i.exec(pair.slice(at + 1));
      if (bearer === null) return { problem: 'auth is not "Bearer <token>"' };
      token = bearer[1];
    }
  }
  if (token === undefined) return { problem: 'no auth=Bearer pair' };
  return { authorizationId: authzid.slice(2), token };
}
