/**
 * Console login (`console.login=scram`): a user signs in with the password of a SCRAM user
 * (`tributary users add`, kafka-configs), checked against the stored credential as the broker's
 * SCRAM exchange would (PBKDF2 salted password, client key, stored key); the session is a random
 * token in an HttpOnly, SameSite=Strict cookie, kept in memory. Console calls then run as
 * `User:<name>`, so ACLs apply to the console as to any client of that user.
 */
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { BrokerRuntime } from '../broker-runtime.ts';

const pbkdf2Async = promisify(pbkdf2);

/** How long a session lasts from login. */
export const sessionLifetimeMs = 8 * 60 * 60 * 1000;
/** Live sessions kept at most; the oldest goes first. */
const sessionsMax = 10_000;
export const sessionCookie = 'tributary_console';

const hashes: Record<number, { name: 'sha256' | 'sha512'; bytes: number }> = {
  1: { name: 'sha256', bytes: 32 },
  2: { name: 'sha512', bytes: 64 },
};

interface Session {
  readonly user: string;
  readonly expiresAtMs: number;
}

export class ConsoleSessions {
  readonly #runtime: BrokerRuntime;
  readonly #sessions = new Map<string, Session>();

  constructor(runtime: BrokerRuntime) {
    this.#runtime = runtime;
  }

  /** A new session token when the password matches one of the user's SCRAM credentials. */
  async login(user: string, password: string): Promise<string | undefined> {
    const credentials = await this.#runtime.storage.listScramCredentials();
    let matched = false;
    for (const credential of credentials.filter((entry) => entry.user === user)) {
      const hash = hashes[credential.mechanism];
      if (hash === undefined) continue;
      const salted = await pbkdf2Async(
        password,
        credential.salt,
        credential.iterations,
        hash.bytes,
        hash.name,
      );
      const clientKey = createHmac(hash.name, salted).update('Client Key').digest();
      const storedKey = createHash(hash.name).update(clientKey).digest();
      if (storedKey.length === credential.storedKey.length) {
        matched ||= timingSafeEqual(storedKey, credential.storedKey);
      }
    }
    if (!matched) return undefined;
    const token = randomBytes(32).toString('base64url');
    if (this.#sessions.size >= sessionsMax) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest !== undefined) this.#sessions.delete(oldest);
    }
    this.#sessions.set(token, { user, expiresAtMs: this.#runtime.now() + sessionLifetimeMs });
    return token;
  }

  /** The user of the request's session cookie, if it is live. */
  userOf(cookieHeader: string | undefined): string | undefined {
    const token = tokenOf(cookieHeader);
    if (token === undefined) return undefined;
    const session = this.#sessions.get(token);
    if (session === undefined) return undefined;
    if (session.expiresAtMs <= this.#runtime.now()) {
      this.#sessions.delete(token);
      return undefined;
    }
    return session.user;
  }

  logout(cookieHeader: string | undefined): void {
    const token = tokenOf(cookieHeader);
    if (token !== undefined) this.#sessions.delete(token);
  }
}

function tokenOf(cookieHeader: string | undefined): string | undefined {
  for (const part of (cookieHeader ?? '').split(';')) {
    const [name, value] = part.trim().split('=');
    if (name === sessionCookie && value !== undefined && value !== '') return value;
  }
  return undefined;
}
