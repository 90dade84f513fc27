/**
 * Builds a SASL listener's configuration from the settings: the enabled mechanisms
 * (`[listener.name.<l>.]sasl.enabled.mechanisms`), PLAIN's users from the listener's
 * PlainLoginModule JAAS config, SCRAM against the metadata store's credentials, OAUTHBEARER's
 * JWT checks, and the KIP-368 and failure-delay settings. Checked at start: PLAIN enabled
 * without a JAAS user list, or OAUTHBEARER without a JWKS, stops the broker with a message.
 */
import type { ScramCredential } from '@tributary/storage';
import type { StaticSettings } from '../config/static-settings.ts';
import type { SaslListenerConfig } from './connection-authentication.ts';
import { parseJaasConfig, plainUsersOf } from './sasl/jaas-config.ts';
import { OAuthBearerServer, type OAuthBearerSettings } from './sasl/oauth-bearer-server.ts';
import { PlainServer } from './sasl/plain-server.ts';
import { ScramServer } from './sasl/scram-server.ts';
import type { SaslServer } from './sasl/sasl-server.ts';
import { scramMechanisms } from './scram-formatter.ts';
import { securitySettingOf } from './security-setting-catalogue.ts';

export interface SaslListenerContext {
  readonly settings: StaticSettings | undefined;
  /** Every stored SCRAM credential (the metadata store). */
  readonly listScramCredentials: () => Promise<ScramCredential[]>;
}

export function saslListenerConfigOf(
  listener: string,
  context: SaslListenerContext,
): SaslListenerConfig {
  const { settings } = context;
  const value = (name: string, mechanism?: string): string | null =>
    securitySettingOf(settings, name, {
      listener,
      ...(mechanism === undefined ? {} : { mechanism }),
    });
  const enabled = (value('sasl.enabled.mechanisms') ?? '').split(',').filter((name) => name !== '');
  const plainUsers = enabled.includes('PLAIN') ? plainUsersFor(listener, value) : new Map();
  const oauth = oauthSettingsOf(value);
  if (enabled.includes('OAUTHBEARER') && oauth.jwksUrl === null) {
    throw new Error(
      `listener ${listener}: OAUTHBEARER needs sasl.oauthbearer.jwks.endpoint.url (file:///...)`,
    );
  }
  const lookup = async (user: string, mechanism: number): Promise<ScramCredential | undefined> =>
    (await context.listScramCredentials()).find(
      (credential) => credential.user === user && credential.mechanism === mechanism,
    );
  const createServer = (mechanism: string): SaslServer | undefined => {
    if (mechanism === 'PLAIN') return new PlainServer(plainUsers);
    if (mechanism === 'OAUTHBEARER') return new OAuthBearerServer(oauth);
    const scram = scramMechanisms.find((candidate) => candidate.name === mechanism);
    return scram === undefined ? undefined : new ScramServer(scram, lookup);
  };
  return {
    listener,
    enabledMechanisms: enabled,
    createServer,
    reauthMs: Number(value('connections.max.reauth.ms') ?? '0'),
    failedAuthenticationDelayMs: Number(
      value('connection.failed.authentication.delay.ms') ?? '100',
    ),
    maxReceiveBytes: Number(value('sasl.server.max.receive.size') ?? '524288'),
  };
}

function plainUsersFor(
  listener: string,
  value: (name: string, mechanism?: string) => string | null,
): Map<string, string> {
  const jaas = value('sasl.jaas.config', 'PLAIN');
  if (jaas === null) {
    throw new Error(
      `listener ${listener}: PLAIN needs listener.name.${listener.toLowerCase()}.plain.` +
        'sasl.jaas.config with user_NAME="password" entries (PlainLoginModule)',
    );
  }
  const entry = parseJaasConfig(jaas);
  if (!entry.loginModule.endsWith('PlainLoginModule')) {
    throw new Error(`listener ${listener}: the PLAIN JAAS config must use PlainLoginModule`);
  }
  return plainUsersOf(entry);
}

function oauthSettingsOf(value: (name: string) => string | null): OAuthBearerSettings {
  const audience = value('sasl.oauthbearer.expected.audience');
  return {
    jwksUrl: value('sasl.oauthbearer.jwks.endpoint.url'),
    expectedAudience: audience === null ? [] : audience.split(',').filter((item) => item !== ''),
    expectedIssuer: value('sasl.oauthbearer.expected.issuer'),
    subClaimName: value('sasl.oauthbearer.sub.claim.name') ?? 'sub',
    clockSkewSeconds: Number(value('sasl.oauthbearer.clock.skew.seconds') ?? '30'),
  };
}
