/**
 * The admin commands' client security, from a Kafka client config file (`--command-config`, as
 * Kafka's tools take it): `security.protocol` (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL),
 * `ssl.truststore.location` (PEM CAs) and `ssl.keystore.location` (PEM key and certificate, for
 * mTLS), `sasl.mechanism` (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) with the user and password from
 * `sasl.jaas.config` (`username="..." password="..."`). The connection itself, which
 * authenticates before any admin request, is the broker package's connectSecurely.
 */
import { readFile } from 'node:fs/promises';
import type { ConnectionOptions } from 'node:tls';
import {
  connectSecurely,
  parseJaasConfig,
  parseProperties,
  scramHashes,
  type ClientSecurity,
} from '@tributary/broker';
import { UsageError } from './command-io.ts';

export { connectSecurely, type ClientSecurity };

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
