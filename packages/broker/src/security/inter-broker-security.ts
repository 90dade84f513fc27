/**
 * How a broker authenticates to the other brokers of its cluster (transaction markers, zone
 * forwarding, the audit log, adding partitions to a transaction). Brokers reach each other at
 * the endpoint each registered, that of the first entry of `listeners`, so they speak that
 * listener's security protocol, as Kafka brokers speak their inter-broker listener's:
 * - SSL and SASL_SSL: TLS, checking the peer against the listener's truststore and presenting
 *   the broker's own keystore (for a listener with `ssl.client.auth`);
 * - SASL_PLAINTEXT and SASL_SSL: `sasl.mechanism.inter.broker.protocol` (PLAIN by default, or
 *   SCRAM-SHA-256/512) with the `username` and `password` of the listener's JAAS config for that
 *   mechanism (`listener.name.<l>.<mechanism>.sasl.jaas.config`), Kafka's place for a broker's
 *   own credentials. Their principal needs CLUSTER_ACTION once ACLs are on (a super user, as
 *   with Kafka).
 * Read at start; what is missing stops the broker with a message naming the setting.
 */
import type { StaticSettings } from '../config/static-settings.ts';
import type { ClientSecurity } from '../cluster/authenticated-connection.ts';
import type { ListenerSpec } from './listener-specs.ts';
import { parseJaasConfig } from './sasl/jaas-config.ts';
import { securitySettingOf } from './security-setting-catalogue.ts';
import { loadTlsServerOptions } from './tls-server-options.ts';

export async function interBrokerSecurityOf(
  settings: StaticSettings | undefined,
  listener: ListenerSpec,
): Promise<ClientSecurity> {
  const protocol = listener.securityProtocol;
  const scope = { listener: listener.name };
  let security: ClientSecurity = {};
  if (protocol === 'SSL' || protocol === 'SASL_SSL') {
    const { secureContext } = await loadTlsServerOptions(settings, listener.name);
    const { ca, key, cert, pfx, passphrase } = secureContext;
    security = {
      tls: {
        ...(ca === undefined ? {} : { ca }),
        ...(key === undefined ? {} : { key, cert }),
        ...(pfx === undefined ? {} : { pfx }),
        ...(passphrase === undefined ? {} : { passphrase }),
      },
    };
  }
  if (protocol !== 'SASL_PLAINTEXT' && protocol !== 'SASL_SSL') return security;
  const mechanism =
    securitySettingOf(settings, 'sasl.mechanism.inter.broker.protocol', scope) ?? 'PLAIN';
  const jaas = securitySettingOf(settings, 'sasl.jaas.config', { ...scope, mechanism });
  const options = jaas === null ? undefined : parseJaasConfig(jaas).options;
  const user = options?.get('username');
  const password = options?.get('password');
  if (user === undefined || password === undefined) {
    throw new Error(
      `listener ${listener.name} comes first in listeners, so brokers call each other on it: ` +
        `listener.name.${listener.name.toLowerCase()}.${mechanism.toLowerCase()}.sasl.jaas.config ` +
        'needs username="..." password="..." (the brokers\' own credentials, ' +
        'sasl.mechanism.inter.broker.protocol)',
    );
  }
  return { ...security, sasl: { mechanism, user, password } };
}
