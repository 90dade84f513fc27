/**
 * A connection to a Kafka listener that authenticates as a client: TLS when the listener is SSL
 * or SASL_SSL (the peer's certificate checked against the given CAs, a client certificate when
 * one is given), then SASL PLAIN or SCRAM-SHA-256/512 through SaslHandshake v1 and
 * SaslAuthenticate v1 before any other request. SCRAM checks the server's signature, so a
 * listener that does not hold the credential cannot pass for one that does. Used by brokers
 * calling each other (cluster/broker-clients.ts) and by the admin commands (`--command-config`).
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ConnectionOptions } from 'node:tls';
import { ErrorCode, errorName, saslAuthenticateApi, saslHandshakeApi } from '@tributary/protocol';
import type { Endpoint } from '../endpoint.ts';
import { KafkaConnection, type KafkaConnectionOptions } from './kafka-connection.ts';

export interface ClientSecurity {
  readonly tls?: ConnectionOptions;
  readonly sasl?: { mechanism: string; user: string; password: string };
}

/** The SCRAM mechanisms a client can use, with their hash and its length in bytes. */
export const scramHashes: Readonly<Record<string, { hash: 'sha256' | 'sha512'; bytes: number }>> = {
  'SCRAM-SHA-256': { hash: 'sha256', bytes: 32 },
  'SCRAM-SHA-512': { hash: 'sha512', bytes: 64 },
};

/** Connects and authenticates as `security` says. */
export async function connectSecurely(
  endpoint: Endpoint,
  security: ClientSecurity,
  options: Omit<KafkaConnectionOptions, 'tls'> = {},
): Promise<KafkaConnection> {
  const connection = await KafkaConnection.connect(
    endpoint,
    security.tls === undefined
      ? options
      : { ...options, tls: { servername: endpoint.host, ...security.tls } },
  );
  const sasl = security.sasl;
  if (sasl === undefined) return connection;
  try {
    const handshake = await connection.request(saslHandshakeApi, 1, { mechanism: sasl.mechanism });
    if (handshake.errorCode !== ErrorCode.NONE) {
      throw new Error(`SaslHandshake: ${errorName(handshake.errorCode)}`);
    }
    const step = async (token: Buffer): Promise<Buffer> => {
      const answer = await connection.request(saslAuthenticateApi, 1, { authBytes: token });
      if (answer.errorCode !== ErrorCode.NONE) {
        throw new Error(`SaslAuthenticate: ${errorName(answer.errorCode)}: ${answer.errorMessage}`);
      }
      return answer.authBytes;
    };
    if (sasl.mechanism === 'PLAIN')
      await step(Buffer.from(`\u0000${sasl.user}\u0000${sasl.password}`));
    else await scramExchange(sasl, step);
    return connection;
  } catch (error: unknown) {
    connection.close();
    throw error;
  }
}

async function scramExchange(
  sasl: { mechanism: string; user: string; password: string },
  step: (token: Buffer) => Promise<Buffer>,
): Promise<void> {
  const { hash, bytes } = scramHashes[sasl.mechanism] ?? { hash: 'sha256', bytes: 32 };
  const clientNonce = randomBytes(24).toString('base64url');
  const name = sasl.user.replaceAll('=', '=3D').replaceAll(',', '=2C');
  const clientFirstBare = `n=${name},r=${clientNonce}`;
  const serverFirst = (await step(Buffer.from(`n,,${clientFirstBare}`))).toString('utf8');
  const fields = new Map(
    serverFirst.split(',').map((item) => [item.slice(0, 1), item.slice(2)] as const),
  );
  const nonce = fields.get('r') ?? '';
  const iterations = Number(fields.get('i'));
  if (!nonce.startsWith(clientNonce) || !(iterations >= 4096)) {
    throw new Error('SCRAM: the server-first message is not valid');
  }
  const salted = pbkdf2Sync(
    sasl.password.normalize('NFKC'),
    Buffer.from(fields.get('s') ?? '', 'base64'),
    iterations,
    bytes,
    hash,
  );
  const clientKey = createHmac(hash, salted).update('Client Key').digest();
  const storedKey = createHash(hash).update(clientKey).digest();
  const withoutProof = `c=biws,r=${nonce}`;
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const signature = createHmac(hash, storedKey).update(authMessage).digest();
  const proof = Buffer.from(clientKey.map((byte, i) => byte ^ (signature[i] ?? 0)));
  const serverFinal = await step(Buffer.from(`${withoutProof},p=${proof.toString('base64')}`));
  const serverKey = createHmac(hash, salted).update('Server Key').digest();
  const expected = Buffer.from(
    `v=${createHmac(hash, serverKey).update(authMessage).digest('base64')}`,
  );
  if (serverFinal.length !== expected.length || !timingSafeEqual(serverFinal, expected)) {
    throw new Error('SCRAM: the server signature is wrong');
  }
}
