/**
 * What an SSL or SASL_SSL listener's TLS server needs, read from Kafka's ssl.* settings (each may
 * be given per listener, security-setting-catalogue.ts): the broker's key and certificate chain
 * (a PEM keystore as KIP-651 defines it, a file with the key and the chain or the two inline
 * settings, or a PKCS12 file), the CA certificates that sign client certificates, whether a
 * client certificate is required, requested or not asked for (`ssl.client.auth`), and the TLS
 * versions (`ssl.enabled.protocols`; TLS 1.0 and 1.1 are never accepted).
 *
 * The files are read again by `loadTlsServerOptions` on every call: the broker calls it on SIGHUP
 * and swaps the secure context, so renewed certificates apply to new connections without a
 * restart. A file that cannot be read or parsed is an Error naming the setting.
 */
import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContextOptions, type SecureVersion } from 'node:tls';
import type { StaticSettings } from '../config/static-settings.ts';
import { securitySettingOf } from './security-setting-catalogue.ts';

export type SslClientAuth = 'required' | 'requested' | 'none';

export interface TlsServerOptions {
  readonly secureContext: SecureContextOptions;
  readonly clientAuth: SslClientAuth;
  readonly minVersion: SecureVersion;
  readonly maxVersion: SecureVersion;
}

export async function loadTlsServerOptions(
  settings: StaticSettings | undefined,
  listener: string,
): Promise<TlsServerOptions> {
  const value = (name: string): string | null => securitySettingOf(settings, name, { listener });
  const versions = (value('ssl.enabled.protocols') ?? 'TLSv1.2,TLSv1.3').split(',');
  const clientAuth = (value('ssl.client.auth') ?? 'none') as SslClientAuth;
  const secureContext: SecureContextOptions = {
    ...(await keystoreOf(value)),
    ...(await truststoreOf(value)),
  };
  if (clientAuth !== 'none' && secureContext.ca === undefined && secureContext.pfx === undefined) {
    throw new Error(
      `listener ${listener}: ssl.client.auth=${clientAuth} needs ssl.truststore.location ` +
        'or ssl.truststore.certificates (the CAs that sign client certificates)',
    );
  }
  // Fails here, at start or reload, rather than on the first client's handshake.
  try {
    createSecureContext(secureContext);
  } catch (error: unknown) {
    throw new Error(`listener ${listener}: TLS keystore or truststore: ${messageOf(error)}`, {
      cause: error,
    });
  }
  return {
    secureContext,
    clientAuth,
    minVersion: versions.includes('TLSv1.2') ? 'TLSv1.2' : 'TLSv1.3',
    maxVersion: versions.includes('TLSv1.3') ? 'TLSv1.3' : 'TLSv1.2',
  };
}

type ValueOf = (name: string) => string | null;

async function keystoreOf(value: ValueOf): Promise<SecureContextOptions> {
  const type = value('ssl.keystore.type') ?? 'PEM';
  const location = value('ssl.keystore.location');
  if (type === 'PKCS12') {
    if (location === null) throw new Error('ssl.keystore.type=PKCS12 needs ssl.keystore.location');
    return {
      pfx: await readSettingFile('ssl.keystore.location', location),
      passphrase: value('ssl.keystore.password') ?? '',
    };
  }
  const passphrase = value('ssl.key.password');
  const password = passphrase === null ? {} : { passphrase };
  const inlineKey = value('ssl.keystore.key');
  const inlineChain = value('ssl.keystore.certificate.chain');
  if (inlineKey !== null && inlineChain !== null) {
    return { key: pemText(inlineKey), cert: pemText(inlineChain), ...password };
  }
  if (location === null) {
    throw new Error(
      'a TLS listener needs ssl.keystore.location (PEM: private key and certificate chain; ' +
        'or PKCS12) or ssl.keystore.key with ssl.keystore.certificate.chain',
    );
  }
  // KIP-651's PEM keystore file: the private key and the certificate chain in one file.
  const pem = await readSettingFile('ssl.keystore.location', location);
  return { key: pem, cert: pem, ...password };
}

async function truststoreOf(value: ValueOf): Promise<SecureContextOptions> {
  const inline = value('ssl.truststore.certificates');
  if (inline !== null) return { ca: pemText(inline) };
  const location = value('ssl.truststore.location');
  if (location === null) return {};
  const file = await readSettingFile('ssl.truststore.location', location);
  if ((value('ssl.truststore.type') ?? 'PEM') === 'PKCS12') {
    throw new Error('ssl.truststore.type=PKCS12 is not read; give the CAs as PEM');
  }
  return { ca: file };
}

async function readSettingFile(setting: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error: unknown) {
    throw new Error(`${setting} ${path}: ${messageOf(error)}`, { cause: error });
  }
}

/** Kafka lets inline PEM be written on one line of a properties file; restore the newlines. */
function pemText(text: string): string {
  return text.replaceAll('\\n', '\n');
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
