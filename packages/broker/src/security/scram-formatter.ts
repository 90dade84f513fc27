/**
 * SCRAM (RFC 5802, KIP-554) as Kafka's ScramFormatter derives what a broker stores: the client
 * sends a salt and SaltedPassword = PBKDF2-HMAC-H(password, salt, iterations); the broker keeps
 * StoredKey = H(HMAC-H(SaltedPassword, "Client Key")) and ServerKey = HMAC-H(SaltedPassword,
 * "Server Key"), and forgets the salted password. Those two are all the SASL/SCRAM exchange needs
 * to verify a client proof and prove the server, later.
 */
import { createHash, createHmac } from 'node:crypto';

export interface ScramMechanism {
  /** Kafka's ScramMechanism type code. */
  readonly code: number;
  readonly name: string;
  /** Node's name for H. */
  readonly hash: 'sha256' | 'sha512';
  /** Kafka's ScramMechanism.minIterations. */
  readonly minIterations: number;
}

export const scramMechanisms: readonly ScramMechanism[] = [
  { code: 1, name: 'SCRAM-SHA-256', hash: 'sha256', minIterations: 4096 },
  { code: 2, name: 'SCRAM-SHA-512', hash: 'sha512', minIterations: 4096 },
];

/** Kafka's ScramControlManager.MAX_ITERATIONS. */
export const scramMaxIterations = 16384;

export function scramMechanismOf(code: number): ScramMechanism | undefined {
  return scramMechanisms.find((mechanism) => mechanism.code === code);
}

/** StoredKey and ServerKey for a salted password. */
export function scramKeys(
  mechanism: ScramMechanism,
  saltedPassword: Buffer,
): { storedKey: Buffer; serverKey: Buffer } {
  const clientKey = createHmac(mechanism.hash, saltedPassword).update('Client Key').digest();
  return {
    storedKey: createHash(mechanism.hash).update(clientKey).digest(),
    serverKey: createHmac(mechanism.hash, saltedPassword).update('Server Key').digest(),
  };
}
