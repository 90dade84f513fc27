/**
 * Certificates for TLS tests, made with the openssl command line (Debian's `openssl`) in a
 * directory the caller owns: a CA, a server certificate for localhost and 127.0.0.1 signed by
 * it, client certificates signed by it (for mTLS principals), and a second, untrusted CA with a
 * client certificate of its own. Keys are unencrypted PKCS#8 PEM, which every client here reads
 * (librdkafka, kafkajs through Node, the Java client's PEM keystore, Go's crypto/tls); each
 * `*.keystore.pem` holds the key and then the certificate, as KIP-651's PEM keystore file.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from './run-command.ts';

export interface CertificateFiles {
  readonly key: string;
  readonly cert: string;
  /** Key then certificate in one file (ssl.keystore.type=PEM, ssl.keystore.location). */
  readonly keystore: string;
}

export interface TestCertificates {
  readonly dir: string;
  /** The CA that signs the server and the trusted client certificates. */
  readonly caCert: string;
  readonly server: CertificateFiles;
  /** Client certificates by name, signed by the CA; subject `CN=<name>,OU=<ou>,O=Tributary`. */
  readonly clients: ReadonlyMap<string, CertificateFiles>;
  /** A client certificate signed by another CA, which the broker does not trust. */
  readonly untrustedClient: CertificateFiles;
}

const opensslTimeoutMs = 30_000;
/** Validity of every certificate made here: they live for one test run. */
const certificateValidDays = '2';

async function openssl(dir: string, args: readonly string[]): Promise<void> {
  const result = await runCommand('openssl', args, { timeoutMs: opensslTimeoutMs, cwd: dir });
  if (result.code !== 0) {
    throw new Error(`openssl ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
  }
}

/**
 * `openssl req` with a new unencrypted RSA key in `<name>.key`: a self-signed certificate
 * `<name>.pem` (a CA), or a signing request `<name>.csr` for `signed` to sign.
 */
async function newKey(
  dir: string,
  options: { name: string; subject: string; selfSigned: boolean },
): Promise<void> {
  const { name, subject, selfSigned } = options;
  const output = selfSigned
    ? ['-x509', '-out', `${name}.pem`, '-days', certificateValidDays]
    : ['-out', `${name}.csr`];
  await openssl(dir, [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    `${name}.key`,
    ...output,
    '-subj',
    subject,
  ]);
}

async function makeCa(dir: string, name: string): Promise<void> {
  await newKey(dir, { name, subject: `/O=Tributary/CN=${name}`, selfSigned: true });
}

async function signed(
  dir: string,
  options: { name: string; ca: string; subject: string; extensions?: string },
): Promise<CertificateFiles> {
  const { name, ca, subject } = options;
  await newKey(dir, { name, subject, selfSigned: false });
  const extArgs: string[] = [];
  if (options.extensions !== undefined) {
    await writeFile(join(dir, `${name}.ext`), options.extensions);
    extArgs.push('-extfile', `${name}.ext`);
  }
  await openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.pem`,
    '-days',
    certificateValidDays,
    ...extArgs,
  ]);
  const keystore = join(dir, `${name}.keystore.pem`);
  const key = await readFile(join(dir, `${name}.key`), 'utf8');
  const cert = await readFile(join(dir, `${name}.pem`), 'utf8');
  await writeFile(keystore, key + cert);
  return { key: join(dir, `${name}.key`), cert: join(dir, `${name}.pem`), keystore };
}

/** Makes the CA, server and client certificates in `dir` (which must exist). */
export async function makeTestCertificates(
  dir: string,
  clientNames: readonly string[],
): Promise<TestCertificates> {
  await makeCa(dir, 'ca');
  await makeCa(dir, 'other-ca');
  const server = await signed(dir, {
    name: 'server',
    ca: 'ca',
    subject: '/O=Tributary/CN=localhost',
    extensions: 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n',
  });
  const clients = new Map<string, CertificateFiles>();
  for (const name of clientNames) {
    const files = await signed(dir, {
      name: `client-${name}`,
      ca: 'ca',
      subject: `/O=Tributary/OU=eng/CN=${name}`,
      extensions: 'extendedKeyUsage=clientAuth\n',
    });
    clients.set(name, files);
  }
  const untrustedClient = await signed(dir, {
    name: 'client-untrusted',
    ca: 'other-ca',
    subject: '/O=Elsewhere/CN=mallory',
    extensions: 'extendedKeyUsage=clientAuth\n',
  });
  return { dir, caCert: join(dir, 'ca.pem'), server, clients, untrustedClient };
}
