/**
 * The admin commands' client security, from a Kafka client config file (`--command-config`, as
 * Kafka's tools take it): `security.protocol` (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL),
 * `ssl.truststore.location` (PEM CAs) and `ssl.keystore.location` (PEM key and certificate, for
 * mTLS), `sasl.mechanism` (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) with the user and password from
 * `sasl.jaas.config` (`username="..." password="..."`). It connects, then authenticates with
 * SaslHandshake v1 and SaslAuthenticate v1 before any admin request; SCRAM checks the server's
 * signature, so a broker that does not hold the credential cannot pass for one that does.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ConnectionOptions } from 'node:tls';
import { parseJaasConfig, parseProperties } from '@tributary/broker';
import { ErrorCode, errorName, saslAuthenticateApi, saslHandshakeApi } from '@tributary/protocol';
import { UsageError } from './command-io.ts';
import type { Endpoint } from './endpoint.ts';
import { KafkaConnection } from './kafka-connection.ts';

export interface ClientSecurity {
  readonly tls?: ConnectionOptions;
  readonly sasl?: { mechanism: string; user: string; password: string };
}

const scramHashes: Readonly<Record<string, { hash: 'sha256' | 'sha512'; bytes: number }>> = {
  'SCRAM-SHA-256': { hash: 'sha256', bytes: 32 },
  'SCRAM-SHA-512': { hash: 'sha512', bytes: 64 },
};

/** Reads a client config file; UsageError for what this client cannot do. */
export async function readClientSecurity(path: string): Promise<ClientSecurity> {
  const settings = new Map(
    parseProperties(await readFile(path, 'utf8')).map((entry) => [entry.key, entry.value]),
  );
  const protocol = (settings.get('security.protocol') ?? 'PLAINTEXT').toUpperCase();
  if (!['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'].includes(protocol)) {
    throw new UsageError(`security.protocol ${protocol} is not one of Kafka's`);
  }
  let tls: ConnectionOptions | undefined;
  if (protocol.endsWith('SSL')) {
    const trust = settings.get('ssl.truststore.location');
    const keystore = settings.get('ssl.keystore.location');
    const pem = keystore === undefined ? undefined : await readFile(keystore);
    tls = {
      ...(trust === undefined ? {} : { ca: await readFile(trust) }),
      ...(pem === undefined ? {} : { key: pem, cert: pem }),
    };
  }
  if (!protocol.startsWith('SASL')) return tls === undefined ? {} : { tls };
  const mechanism = (settings.get('sasl.mechanism') ?? 'GSSAPI').toUpperCase();
  if (mechanism !== 'PLAIN' && scramHashes[mechanism] === undefined) {
    throw new UsageError(`sasl.mechanism ${mechanism}: only PLAIN and SCRAM-SHA-256/512`);
  }
  const options = parseJaasConfig(settings.get('sasl.jaas.config') ?? '').options;
  const user = options.get('username');
  const password = options.get('password');
  if (user === undefined || password === undefined) {
    throw new UsageError('sasl.jaas.config needs username="..." and password="..."');
  }
  return { ...(tls === undefined ? {} : { tls }), sasl: { mechanism, user, password } };
}

/** Connects and authenticates as `security` says. */
export async function connectSecurely(
  endpoint: Endpoint,
  security: ClientSecurity,
): Promise<KafkaConnection> {
  const connection = await KafkaConnection.connect(
    endpoint,
    security.tls === undefined ? {} : { tls: { servername: endpoint.host, ...security.tls } },
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
