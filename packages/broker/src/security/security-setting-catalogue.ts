/**
 * The authentication and transport settings (issue 16), under Kafka's names and with Kafka's
 * defaults where Tributary serves the same thing. They are static (read once at start; TLS files
 * are re-read on SIGHUP) and live beside the main catalogue rather than in it because several
 * hold secrets (passwords, JAAS user lists) that DescribeConfigs must not show, and because Kafka
 * lets each one be given per listener: `listener.name.<listener>.<setting>` (lower-case listener
 * name), and for `sasl.jaas.config` per mechanism too,
 * `listener.name.<listener>.<mechanism>.sasl.jaas.config`. A per-listener value wins over the
 * plain one (securitySettingOf).
 */
import type { SettingDefinition } from '../config/setting-catalogue.ts';
import { parseJaasConfig } from './sasl/jaas-config.ts';
import { SslPrincipalMapper } from './ssl-principal-mapper.ts';

/** Mechanisms this broker serves (GSSAPI, Kerberos, is not among them). */
export const saslMechanismNames = [
  'PLAIN',
  'SCRAM-SHA-256',
  'SCRAM-SHA-512',
  'OAUTHBEARER',
] as const;
export type SaslMechanismName = (typeof saslMechanismNames)[number];

const startup = { kind: 'startup' } as const;

function setting(
  name: string,
  defaultValue: string | null,
  doc: string,
  more: Partial<SettingDefinition> = {},
): SettingDefinition {
  return { name, type: 'string', defaultValue, dynamic: false, doc, target: startup, ...more };
}

function checkProtocolMap(value: string): string | undefined {
  for (const item of value.split(',')) {
    const [name, protocol, extra] = item.trim().split(':');
    if (item.trim() === '') continue;
    if (extra !== undefined || name === undefined || !/^[A-Za-z0-9_-]+$/.test(name)) {
      return `'${item.trim()}': expected LISTENER_NAME:SECURITY_PROTOCOL`;
    }
    if (!securityProtocols.includes(protocol?.toUpperCase() ?? '')) {
      return `'${item.trim()}': security protocol must be one of ${securityProtocols.join(', ')}`;
    }
  }
  return undefined;
}

/** The problem `parse` throws for `value`, or undefined when it parses. */
function parsesWith(parse: (value: string) => unknown): (value: string) => string | undefined {
  return (value) => {
    try {
      parse(value);
      return undefined;
    } catch (error: unknown) {
      return error instanceof Error ? error.message : String(error);
    }
  };
}

function checkFileUrl(value: string): string | undefined {
  if (value === '') return undefined;
  return value.startsWith('file:///')
    ? undefined
    : 'only file:/// URLs are read (the broker fetches nothing over the network)';
}

/** The static settings by name (config/static-settings.ts's StaticSettings, structurally). */
export type SettingValues = ReadonlyMap<string, { readonly value: string }>;

export const securityProtocols: readonly string[] = [
  'PLAINTEXT',
  'SSL',
  'SASL_PLAINTEXT',
  'SASL_SSL',
];

export const securitySettingCatalogue: readonly SettingDefinition[] = [
  setting(
    'listener.security.protocol.map',
    'PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL',
    'Security protocol of each listener name: NAME:PROTOCOL,... (listeners=NAME://HOST:PORT).',
    { check: checkProtocolMap },
  ),
  setting(
    'ssl.keystore.type',
    'PEM',
    'PEM (KIP-651: key and certificate chain in one file, or in ssl.keystore.key and ' +
      'ssl.keystore.certificate.chain) or PKCS12. JKS is not read: convert it with keytool.',
    { validValues: ['PEM', 'PKCS12'] },
  ),
  setting('ssl.keystore.location', null, 'The keystore file (PEM or PKCS12).'),
  setting('ssl.keystore.password', null, 'Password of a PKCS12 keystore (secret).'),
  setting('ssl.key.password', null, 'Password of an encrypted PEM private key (secret).'),
  setting('ssl.keystore.key', null, 'PEM private key given inline (secret).'),
  setting('ssl.keystore.certificate.chain', null, 'PEM certificate chain given inline.'),
  setting('ssl.truststore.type', 'PEM', 'PEM or PKCS12.', { validValues: ['PEM', 'PKCS12'] }),
  setting('ssl.truststore.location', null, 'CA certificates that sign client certificates.'),
  setting('ssl.truststore.password', null, 'Password of a PKCS12 truststore.'),
  setting('ssl.truststore.certificates', null, 'Trusted CA certificates given inline (PEM).'),
  setting(
    'ssl.client.auth',
    'none',
    'Client certificates (mTLS): required, requested (checked when sent) or none.',
    { validValues: ['required', 'requested', 'none'] },
  ),
  setting(
    'ssl.enabled.protocols',
    'TLSv1.2,TLSv1.3',
    'TLS versions accepted; older ones are refused.',
    { type: 'list', validValues: ['TLSv1.2', 'TLSv1.3'] },
  ),
  setting(
    'ssl.principal.mapping.rules',
    'DEFAULT',
    'Certificate subject (RFC 2253 DN) to principal name: RULE:pattern/replacement/[LU],... ' +
      'then DEFAULT (the whole DN).',
    { check: parsesWith((value) => SslPrincipalMapper.parse(value)) },
  ),
  setting(
    'sasl.enabled.mechanisms',
    'SCRAM-SHA-256,SCRAM-SHA-512',
    'SASL mechanisms offered on SASL listeners (Kafka defaults to GSSAPI, not served here).',
    { type: 'list', validValues: saslMechanismNames },
  ),
  setting(
    'sasl.jaas.config',
    null,
    'PLAIN users, as PlainLoginModule: ... required user_NAME="password" ...; (secret). ' +
      'Usually per listener: listener.name.<name>.plain.sasl.jaas.config.',
    { check: parsesWith(parseJaasConfig) },
  ),
  setting(
    'sasl.mechanism.inter.broker.protocol',
    'PLAIN',
    'Cluster mode: the mechanism brokers authenticate to each other with, on a SASL listener ' +
      'that comes first in listeners; its JAAS config gives username="..." password="..." ' +
      '(Kafka defaults to GSSAPI, not served here).',
    { validValues: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] },
  ),
  setting(
    'sasl.server.max.receive.size',
    '524288',
    'Largest frame accepted before and during SASL authentication.',
    { type: 'int', min: 1n, unit: 'bytes' },
  ),
  setting(
    'connection.failed.authentication.delay.ms',
    '100',
    'Delay before answering a failed authentication (then the connection closes).',
    { type: 'int', min: 0n, unit: 'ms' },
  ),
  setting(
    'connections.max.reauth.ms',
    '0',
    'KIP-368: authenticated sessions last this long (0: forever); a client must ' +
      're-authenticate before, or its connection is closed.',
    { type: 'long', min: 0n, unit: 'ms' },
  ),
  setting(
    'sasl.oauthbearer.jwks.endpoint.url',
    null,
    'OAUTHBEARER: the JWKS (public keys) that sign tokens, as a file:/// URL.',
    { check: checkFileUrl },
  ),
  setting('sasl.oauthbearer.expected.audience', null, 'Accepted aud values (comma list).', {
    type: 'list',
  }),
  setting('sasl.oauthbearer.expected.issuer', null, 'Required iss value.'),
  setting('sasl.oauthbearer.sub.claim.name', 'sub', 'The claim that names the principal.'),
  setting('sasl.oauthbearer.scope.claim.name', 'scope', 'The claim holding scopes.'),
  setting(
    'sasl.oauthbearer.clock.skew.seconds',
    '30',
    'Tolerance when checking exp, nbf and iat.',
    { type: 'int', min: 0n },
  ),
];

/** Settings whose values are secrets: never echoed in an error, a log line or a report. */
const secretSettingNames: ReadonlySet<string> = new Set([
  'ssl.keystore.password',
  'ssl.key.password',
  'ssl.keystore.key',
  'ssl.truststore.password',
  'sasl.jaas.config',
]);

export const securitySettingDefinitions: ReadonlyMap<string, SettingDefinition> = new Map(
  securitySettingCatalogue.map((definition) => [definition.name, definition]),
);

const listenerPrefix = /^listener\.name\.([a-z0-9_-]+)\.(.+)$/;
const mechanismPrefix = /^(plain|scram-sha-256|scram-sha-512|oauthbearer)\.(sasl\.jaas\.config)$/;

/**
 * The definition behind a security setting name, plain or listener-prefixed; undefined when the
 * name is not one of them.
 */
export function securitySettingDefinition(key: string): SettingDefinition | undefined {
  const direct = securitySettingDefinitions.get(key);
  if (direct !== undefined) return direct;
  const match = listenerPrefix.exec(key);
  if (match === null) return undefined;
  const rest = match[2] ?? '';
  const name = mechanismPrefix.exec(rest)?.[2] ?? rest;
  return securitySettingDefinitions.get(name);
}

/**
 * A security setting's value for one listener: `listener.name.<listener>.<name>` (for
 * sasl.jaas.config, with the mechanism first), then `<name>`, then the default.
 */
export function securitySettingOf(
  settings: SettingValues | undefined,
  name: string,
  scope: { listener?: string; mechanism?: string } = {},
): string | null {
  const listener = scope.listener?.toLowerCase();
  const keys: string[] = [];
  if (listener !== undefined) {
    if (scope.mechanism !== undefined) {
      keys.push(`listener.name.${listener}.${scope.mechanism.toLowerCase()}.${name}`);
    }
    keys.push(`listener.name.${listener}.${name}`);
  }
  keys.push(name);
  for (const key of keys) {
    const value = settings?.get(key)?.value;
    if (value !== undefined) return value;
  }
  return securitySettingDefinitions.get(name)?.defaultValue ?? null;
}

/** Whether `key` (plain or listener-prefixed) holds a secret. */
export function isSecretSetting(key: string): boolean {
  const definition = securitySettingDefinition(key);
  return definition !== undefined && secretSettingNames.has(definition.name);
}
