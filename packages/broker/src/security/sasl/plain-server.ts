/**
 * SASL/PLAIN (RFC 4616) against the users of the listener's PlainLoginModule JAAS config, as
 * Kafka's PlainSaslServer: one message `authzid NUL authcid NUL password`; the authorization id
 * must be empty or the user itself (CVE-2017-12610), and the password is compared in constant
 * time (hashes of equal length, timingSafeEqual), whether or not the user exists.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { failed, type SaslServer, type SaslStep } from './sasl-server.ts';

const invalidCredentials = 'Authentication failed: Invalid username or password';

export class PlainServer implements SaslServer {
  readonly mechanism = 'PLAIN';
  readonly #users: ReadonlyMap<string, string>;

  constructor(users: ReadonlyMap<string, string>) {
    this.#users = users;
  }

  async evaluate(token: Buffer): Promise<SaslStep> {
    const parts = token.toString('utf8').split('\u0000');
    if (parts.length !== 3) {
      return failed('Invalid SASL/PLAIN response: expected 3 tokens', 'malformed PLAIN message');
    }
    const [authorizationId = '', user = '', password = ''] = parts;
    if (user === '') return failed('Authentication failed: username not specified', 'no user');
    if (password === '') {
      return failed('Authentication failed: password not specified', 'no password', user);
    }
    if (authorizationId !== '' && authorizationId !== user) {
      return failed(
        'Authentication failed: Client requested an authorization id that is different ' +
          'from username',
        'authorization id differs from user',
        user,
      );
    }
    const expected = this.#users.get(user);
    const match = sameSecret(password, expected ?? '') && expected !== undefined;
    if (!match) return failed(invalidCredentials, 'wrong password or unknown user', user);
    return { kind: 'done', bytes: Buffer.alloc(0), principal: `User:${user}` };
  }
}

/** Constant-time comparison of two secrets of any length. */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}
