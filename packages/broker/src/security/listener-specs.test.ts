/** Listener specs from Kafka's settings, and per-listener security settings. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseOverride, resolveStaticSettings } from '../config/static-settings.ts';
import { listenerSpecsOf } from './listener-specs.ts';
import { securitySettingOf } from './security-setting-catalogue.ts';

function settingsOf(...assignments: string[]) {
  return resolveStaticSettings({ env: {}, overrides: assignments.map((a) => parseOverride(a)) });
}

test('protocols come from the map; advertised addresses by listener name', () => {
  const settings = settingsOf(
    'listener.security.protocol.map=EXTERNAL:SASL_SSL,INTERNAL:PLAINTEXT',
  );
  const specs = listenerSpecsOf(
    settings,
    'INTERNAL://10.0.0.5:9092,external://0.0.0.0:9094',
    'EXTERNAL://broker.example.com:443',
  );
  assert.deepEqual(
    specs.map((spec) => [spec.name, spec.securityProtocol, spec.advertised?.host ?? null]),
    [
      ['INTERNAL', 'PLAINTEXT', null],
      ['EXTERNAL', 'SASL_SSL', 'broker.example.com'],
    ],
  );
  assert.throws(() => listenerSpecsOf(settings, 'OTHER://h:1', undefined), /no security protocol/);
  assert.throws(
    () => listenerSpecsOf(settings, 'INTERNAL://h:1', 'EXTERNAL://x:2'),
    /not in listeners/,
  );
});

test('listener.name.<l>.<setting> wins over <setting>; JAAS per mechanism', () => {
  const settings = settingsOf(
    'ssl.client.auth=requested',
    'listener.name.mtls.ssl.client.auth=required',
    'listener.name.sasl_ssl.plain.sasl.jaas.config=x required user_a="b";',
  );
  assert.equal(securitySettingOf(settings, 'ssl.client.auth', { listener: 'MTLS' }), 'required');
  assert.equal(securitySettingOf(settings, 'ssl.client.auth', { listener: 'SSL' }), 'requested');
  assert.equal(securitySettingOf(settings, 'ssl.principal.mapping.rules'), 'DEFAULT');
  const jaas = securitySettingOf(settings, 'sasl.jaas.config', {
    listener: 'SASL_SSL',
    mechanism: 'PLAIN',
  });
  assert.equal(jaas, 'x required user_a="b";');
  assert.throws(() => settingsOf('listener.name.x.ssl.client.auth=maybe'), /not allowed/);
  assert.throws(() => settingsOf('listener.name.x.no.such.setting=1'), /unknown setting/);
  assert.throws(() => settingsOf('sasl.oauthbearer.jwks.endpoint.url=https://idp/jwks'), /file/);
});

test('mapping rules and JAAS configs are checked when the settings are read', () => {
  assert.throws(() => settingsOf('ssl.principal.mapping.rules=RULE:nope'), /invalid rule/);
  assert.throws(
    () => settingsOf('listener.name.sasl_plaintext.plain.sasl.jaas.config=user_a="b"'),
    /sasl.jaas.config/,
  );
  assert.throws(
    () => settingsOf('listener.name.x.plain.sasl.jaas.config=user_a="hunter2"'),
    (error: Error) => !error.message.includes('hunter2') && /secret/.test(error.message),
  );
});
