/**
 * SASL/SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) against the credentials the metadata
 * store keeps (salt, StoredKey, ServerKey, iterations: KIP-554), as Kafka's ScramSaslServer:
 *
 *   client-first  n,[a=authzid],n=user,r=cnonce[,ext...]
 *   server-first  r=cnonce+snonce,s=salt,i=iterations
 *   client-final  c=biws,r=cnonce+snonce,p=proof
 *   server-final  v=ServerSignature
 *
 * Checks Kafka has been bitten by: the client-final nonce must end with the combined nonce of
 * server-first (CVE-2024-56128; Kafka checks the end too, as librdkafka repeats its own nonce), the proof is compared in constant time (CVE-2021-38153), and the
 * authorization id must be empty or the user (CVE-2017-12610). Channel binding (`p=`) and
 * delegation tokens (`tokenauth=true`) are not served. An unknown user gets a server-first with a
 * salt derived from the name (the same on every attempt), so whether a user exists is not told
 * before the final message; every failure has the same message.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ScramCredential } from '@tributary/storage';
import type { ScramMechanism } from '../scram-formatter.ts';
import { failed, type SaslServer, type SaslStep } from './sasl-server.ts';

export type ScramCredentialLookup = (
  user: string,
  mechanism: number,
) => Promise<ScramCredential | undefined>;

/** Key of the fake salts for unknown users; one per process is enough. */
const fakeSaltKey = randomBytes(32);
const serverNonceBytes = 24;

interface FirstExchange {
  readonly user: string;
  readonly gs2Header: string;
  readonly clientFirstBare: string;
  readonly serverFirst: string;
  readonly nonce: string;
  readonly credential: ScramCredential | undefined;
}

export class ScramServer implements SaslServer {
  readonly mechanism: string;
  readonly #scram: ScramMechanism;
  readonly #lookup: ScramCredentialLookup;
  readonly #serverNonce: () => string;
  #first: FirstExchange | undefined;
  #finished = false;

  /** `serverNonce` is for tests (RFC 7677's example exchange); the default is random. */
  constructor(
    scram: ScramMechanism,
    lookup: ScramCredentialLookup,
    serverNonce: () => string = () => randomBytes(serverNonceBytes).toString('base64url'),
  ) {
    this.mechanism = scram.name;
    this.#scram = scram;
    this.#lookup = lookup;
    this.#serverNonce = serverNonce;
  }

  async evaluate(token: Buffer): Promise<SaslStep> {
    if (this.#finished) return this.#failure('token after the exchange ended');
    if (this.#first === undefined) return this.#clientFirst(token.toString('utf8'));
    this.#finished = true;
    return this.#clientFinal(this.#first, token.toString('utf8'));
  }

  async #clientFirst(message: string): Promise<SaslStep> {
    const parsed = parseClientFirst(message);
    if ('problem' in parsed) {
      this.#finished = true;
      return this.#failure(parsed.problem, parsed.user);
    }
    const { user, gs2Header, clientFirstBare, clientNonce } = parsed;
    const found = await this.#lookup(user, this.#scram.code);
    const salt = found?.salt ?? fakeSalt(user, this.#scram);
    const iterations = found?.iterations ?? this.#scram.minIterations;
    const nonce = clientNonce + this.#serverNonce();
    const serverFirst = `r=${nonce},s=${salt.toString('base64')},i=${iterations}`;
    this.#first = { user, gs2Header, clientFirstBare, serverFirst, nonce, credential: found };
    return { kind: 'challenge', bytes: Buffer.from(serverFirst, 'utf8') };
  }

  #clientFinal(first: FirstExchange, message: string): SaslStep {
    const at = message.lastIndexOf(',p=');
    if (at < 0) return this.#failure('client-final without a proof', first.user);
    const withoutProof = message.slice(0, at);
    const fields = attributesOf(withoutProof);
    const binding = Buffer.from(first.gs2Header, 'utf8').toString('base64');
    if (fields.get('c') !== binding) {
      return this.#failure('channel binding differs from client-first', first.user);
    }
    // Kafka checks that the nonce ends with server-first's (its CVE-2024-56128 fix): librdkafka
    // up to 2.x sends its client nonce twice (r=cnonce+cnonce+snonce). The server part, fresh
    // and random per exchange, is what defeats replay.
    if (!(fields.get('r') ?? '').endsWith(first.nonce)) {
      return this.#failure('nonce differs from server-first', first.user);
    }
    const credential = first.credential;
    if (credential === undefined) return this.#failure('unknown user', first.user);
    const proof = Buffer.from(message.slice(at + 3), 'base64');
    const authMessage = `${first.clientFirstBare},${first.serverFirst},${withoutProof}`;
    const hash = this.#scram.hash;
    const clientSignature = createHmac(hash, credential.storedKey).update(authMessage).digest();
    if (proof.length !== clientSignature.length) {
      return this.#failure('proof of the wrong length', first.user);
    }
    const clientKey = Buffer.alloc(proof.length);
    for (let i = 0; i < proof.length; i++) {
      clientKey[i] = (proof[i] ?? 0) ^ (clientSignature[i] ?? 0);
    }
    const storedKey = createHash(hash).update(clientKey).digest();
    if (
      storedKey.length !== credential.storedKey.length ||
      !timingSafeEqual(storedKey, credential.storedKey)
    ) {
      return this.#failure('wrong password', first.user);
    }
    const serverSignature = createHmac(hash, credential.serverKey).update(authMessage).digest();
    return {
      kind: 'done',
      bytes: Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8'),
      principal: `User:${first.user}`,
    };
  }

  #failure(reason: string, user?: string): SaslStep {
    this.#finished = true;
    return failed(
      'Authentication failed during authentication due to invalid credentials with SASL ' +
        `mechanism ${this.mechanism}`,
      reason,
      user,
    );
  }
}

type ClientFirst =
  | { user: string; gs2Header: string; clientFirstBare: string; clientNonce: string }
  | { problem: string; user?: string };

/** RFC 5802 client-first-message; saslname escapes `=2C` and `=3D` decoded. */
export function parseClientFirst(message: string): ClientFirst {
  const match = /^([ny]),(a=[^,]*)?,(.*)$/s.exec(message);
  if (match === null) return { problem: 'malformed client-first (or channel binding asked)' };
  const gs2Header = `${match[1]},${match[2] ?? ''},`;
  const clientFirstBare = match[3] ?? '';
  const fields = attributesOf(clientFirstBare);
  const rawUser = fields.get('n');
  const clientNonce = fields.get('r');
  if (rawUser === undefined || clientNonce === undefined || clientNonce === '') {
    return { problem: 'client-first without user or nonce' };
  }
  const user = decodeSaslName(rawUser);
  if (user === undefined || user === '') return { problem: 'malformed user name' };
  const authorizationId = match[2]?.slice(2);
  if (authorizationId !== undefined && authorizationId !== '') {
    if (decodeSaslName(authorizationId) !== user) {
      return { problem: 'authorization id differs from user', user };
    }
  }
  if (fields.get('tokenauth') === 'true') return { problem: 'delegation tokens not served', user };
  if (fields.has('m')) return { problem: 'mandatory extension not served', user };
  return { user, gs2Header, clientFirstBare, clientNonce };
}

/** `k=v,k=v` (values may contain '='). */
function attributesOf(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const item of text.split(',')) {
    const at = item.indexOf('=');
    if (at > 0) fields.set(item.slice(0, at), item.slice(at + 1));
  }
  return fields;
}

function decodeSaslName(text: string): string | undefined {
  if (/=(?!2C|3D)/.test(text)) return undefined;
  return text.replaceAll('=2C', ',').replaceAll('=3D', '=');
}

function fakeSalt(user: string, scram: ScramMechanism): Buffer {
  return createHmac('sha256', fakeSaltKey)
    .update(`${scram.name}\u0000${user}`)
    .digest()
    .subarray(0, 16);
}
