import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultGroupSettings } from '../groups/group-runtime.ts';
import { defaultTransactionSettings } from '../transactions/transaction-runtime.ts';
import { ConfigSource } from '../config-resources.ts';
import { BrokerSettings } from './broker-settings.ts';
import { envNameOf, settingCatalogue } from './setting-catalogue.ts';
import {
  parseOverride,
  resolveStaticSettings,
  SettingsError,
  type StaticSettingsInput,
} from './static-settings.ts';

const file = (text: string): { path: string; text: string } => ({
  path: 'server.properties',
  text,
});

function resolveWith(input: Partial<StaticSettingsInput>): Map<string, string> {
  const settings = resolveStaticSettings({ env: {}, overrides: [], ...input });
  return new Map([...settings].map(([key, setting]) => [key, setting.value]));
}

function settingsError(input: Partial<StaticSettingsInput>): SettingsError {
  try {
    resolveStaticSettings({ env: {}, overrides: [], ...input });
  } catch (error: unknown) {
    if (error instanceof SettingsError) return error;
    throw error;
  }
  assert.fail('expected a SettingsError');
}

describe('static broker settings', () => {
  it('applies override > env > file for the same key', () => {
    const fromFile = file('num.partitions=2\nlog.retention.hours=5\nmessage.max.bytes=2000\n');
    const env = { TRIBUTARY_NUM_PARTITIONS: '3', TRIBUTARY_LOG_RETENTION_HOURS: '6' };
    const overrides = [parseOverride('num.partitions=4')];
    const values = resolveWith({ file: fromFile, env, overrides });
    assert.equal(values.get('num.partitions'), '4');
    assert.equal(values.get('log.retention.hours'), '6');
    assert.equal(values.get('message.max.bytes'), '2000');
    assert.equal(values.has('max.connections'), false, 'defaults are not static settings');
  });

  it('records where each value came from', () => {
    const settings = resolveStaticSettings({
      file: file('# c\nnum.partitions=2\nlog.segment.bytes=1024\n'),
      env: { TRIBUTARY_LOG_SEGMENT_BYTES: '2048' },
      overrides: [parseOverride('max.connections=7')],
    });
    assert.equal(settings.get('num.partitions')?.origin, 'server.properties:2');
    assert.equal(settings.get('log.segment.bytes')?.origin, 'TRIBUTARY_LOG_SEGMENT_BYTES');
    assert.equal(settings.get('max.connections')?.origin, '--override');
  });

  it('maps every setting to TRIBUTARY_<NAME> and keeps the older variable names', () => {
    assert.equal(
      envNameOf('group.initial.rebalance.delay.ms'),
      'TRIBUTARY_GROUP_INITIAL_REBALANCE_DELAY_MS',
    );
    const values = resolveWith({
      env: {
        TRIBUTARY_DATA_DIR: '/var/tributary',
        TRIBUTARY_LISTEN: '0.0.0.0:9093',
        TRIBUTARY_ADVERTISED_LISTENER: 'PLAINTEXT://broker.example:9093',
        TRIBUTARY_BOOTSTRAP: 'localhost:9092',
      },
    });
    assert.equal(values.get('log.dirs'), '/var/tributary');
    assert.equal(values.get('listeners'), '0.0.0.0:9093');
    assert.equal(values.get('advertised.listeners'), 'PLAINTEXT://broker.example:9093');
  });

  it('normalises values: booleans to lower case, numbers without sign or blanks', () => {
    const values = resolveWith({
      overrides: [
        parseOverride('auto.create.topics.enable=FALSE'),
        parseOverride('num.partitions= +3 '),
      ],
    });
    assert.equal(values.get('auto.create.topics.enable'), 'false');
    assert.equal(values.get('num.partitions'), '3');
  });

  it('names the key, the origin and the expected type of a bad value', () => {
    const error = settingsError({ file: file('\n\nnum.partitions=many\n') });
    assert.equal(error.key, 'num.partitions');
    assert.equal(error.origin, 'server.properties:3');
    assert.match(error.message, /num\.partitions.*server\.properties:3.*expected int/);
    const range = settingsError({ overrides: [parseOverride('num.partitions=0')] });
    assert.match(range.message, /at least 1/);
    const overflow = settingsError({ env: { TRIBUTARY_MAX_CONNECTIONS: '2147483648' } });
    assert.equal(overflow.origin, 'TRIBUTARY_MAX_CONNECTIONS');
    assert.match(overflow.message, /out of range for type int/);
    const bool = settingsError({ overrides: [parseOverride('auto.create.topics.enable=yes')] });
    assert.match(bool.message, /expected boolean/);
  });

  it('refuses unknown keys from every source, and unknown TRIBUTARY_ variables', () => {
    assert.equal(
      settingsError({ file: file('zookeeper.connect=zk:2181') }).key,
      'zookeeper.connect',
    );
    assert.equal(settingsError({ overrides: [parseOverride('nope=1')] }).origin, '--override');
    const typo = settingsError({ env: { TRIBUTARY_NUM_PARTITON: '2' } });
    assert.equal(typo.origin, 'TRIBUTARY_NUM_PARTITON');
    assert.match(typo.message, /num\.partiton/);
  });

  it('refuses an --override without =, and two variables that disagree', () => {
    assert.throws(() => parseOverride('num.partitions'), SettingsError);
    const both = settingsError({ env: { TRIBUTARY_DATA_DIR: 'a', TRIBUTARY_LOG_DIRS: 'b' } });
    assert.equal(both.key, 'log.dirs');
  });

  it('checks listeners (NAME://HOST:PORT, names and ports unique) and one data dir', () => {
    assert.equal(
      resolveWith({ overrides: [parseOverride('listeners=PLAINTEXT://[::1]:0')] }).get('listeners'),
      'PLAINTEXT://[::1]:0',
    );
    const several = 'PLAINTEXT://h:1,SASL_SSL://h:2,INTERNAL://:3';
    assert.equal(
      resolveWith({ overrides: [parseOverride(`listeners=${several}`)] }).get('listeners'),
      several,
    );
    assert.match(
      settingsError({ overrides: [parseOverride('listeners=a:1,b:2')] }).message,
      /PLAINTEXT appears twice/,
    );
    assert.match(
      settingsError({ overrides: [parseOverride('listeners=SSL://h:1,SASL_SSL://h:1')] }).message,
      /port 1 appears twice/,
    );
    assert.match(
      settingsError({ overrides: [parseOverride('listeners=SSL:/h:1')] }).message,
      /expected NAME:\/\/HOST:PORT/,
    );
    assert.match(
      settingsError({ overrides: [parseOverride('log.dirs=/a,/b')] }).message,
      /one data directory/,
    );
  });

  it('has a doc line, a type and a valid default for every setting', () => {
    for (const definition of settingCatalogue) {
      assert.ok(definition.doc.length > 0, definition.name);
      if (definition.defaultValue === null) continue;
      const values = resolveWith({
        overrides: [{ key: definition.name, value: definition.defaultValue, origin: 't' }],
      });
      assert.equal(values.get(definition.name), definition.defaultValue, definition.name);
    }
  });
});

const staticOf = (text: string): BrokerSettings =>
  new BrokerSettings({
    staticSettings: resolveStaticSettings({ file: file(text), env: {}, overrides: [] }),
  });

describe('BrokerSettings', () => {
  it('derives BrokerConfig, group and transaction settings with units converted', () => {
    const settings = staticOf(
      'num.partitions=4\nauto.create.topics.enable=false\noffsets.retention.minutes=2\n' +
        'group.min.session.timeout.ms=1000\ntransaction.max.timeout.ms=60000\n',
    );
    assert.equal(settings.config.numPartitions, 4);
    assert.equal(settings.config.autoCreateTopicsEnable, false);
    const groups = settings.groupSettings(defaultGroupSettings);
    assert.equal(groups.offsetsRetentionMs, 120_000);
    assert.equal(groups.minSessionTimeoutMs, 1000);
    assert.equal(groups.tickIntervalMs, defaultGroupSettings.tickIntervalMs);
    assert.equal(settings.transactionSettings(defaultTransactionSettings).maxTimeoutMs, 60_000);
  });

  it("keeps Kafka's defaults where nothing is set", () => {
    const settings = staticOf('');
    assert.deepEqual(settings.groupSettings(defaultGroupSettings), defaultGroupSettings);
    assert.deepEqual(
      settings.transactionSettings(defaultTransactionSettings),
      defaultTransactionSettings,
    );
    assert.equal(settings.topicDefaults['retention.ms'], '604800000');
    assert.equal(settings.topicDefaults['max.message.bytes'], '1048588');
    assert.equal(settings.config.maxConnections, 2_147_483_647);
  });

  it('reports the mapped fields of an in-process config as static settings', () => {
    const settings = new BrokerSettings({
      staticSettings: new Map(),
      config: { numPartitions: 3, fetchMaxWaitMs: 5, maxConnections: 10 },
    });
    assert.equal(settings.config.numPartitions, 3);
    assert.equal(settings.config.fetchMaxWaitMs, 5);
    const described = settings.describeOne(definitionOf('num.partitions'));
    assert.equal(described.value, '3');
    assert.equal(described.source, ConfigSource.STATIC_BROKER_CONFIG);
    settings.setDynamic('broker', { 'max.connections': '20' });
    assert.equal(settings.config.maxConnections, 20, 'a dynamic value wins over it');
  });

  it('resolves retention as Kafka does: ms, else minutes, else hours', () => {
    assert.equal(staticOf('log.retention.hours=2').topicDefaults['retention.ms'], '7200000');
    assert.equal(
      staticOf('log.retention.hours=2\nlog.retention.minutes=3').topicDefaults['retention.ms'],
      '180000',
    );
    assert.equal(
      staticOf('log.retention.minutes=3\nlog.retention.ms=10').topicDefaults['retention.ms'],
      '10',
    );
    assert.equal(staticOf('log.retention.hours=-1').topicDefaults['retention.ms'], '-1');
  });

  it('orders sources: per-broker dynamic > cluster default > static > default', () => {
    const settings = staticOf('message.max.bytes=2000\n');
    const source = (): number => settings.describeOne(definitionOf('message.max.bytes')).source;
    assert.equal(source(), ConfigSource.STATIC_BROKER_CONFIG);
    settings.setDynamic('cluster-default', { 'message.max.bytes': '3000' });
    assert.equal(settings.value('message.max.bytes'), '3000');
    assert.equal(source(), ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG);
    settings.setDynamic('broker', { 'message.max.bytes': '4000' });
    assert.equal(settings.topicDefaults['max.message.bytes'], '4000');
    assert.equal(source(), ConfigSource.DYNAMIC_BROKER_CONFIG);
    const synonyms = settings.describeOne(definitionOf('message.max.bytes')).synonyms;
    assert.deepEqual(
      synonyms.map((synonym) => [synonym.value, synonym.source]),
      [
        ['4000', ConfigSource.DYNAMIC_BROKER_CONFIG],
        ['3000', ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG],
        ['2000', ConfigSource.STATIC_BROKER_CONFIG],
        ['1048588', ConfigSource.DEFAULT_CONFIG],
      ],
    );
    assert.equal(
      settings.topicDefaultSource('max.message.bytes'),
      ConfigSource.DYNAMIC_BROKER_CONFIG,
    );
    assert.equal(settings.topicDefaultSource('retention.ms'), ConfigSource.DEFAULT_CONFIG);
  });
});

function definitionOf(name: string): (typeof settingCatalogue)[number] {
  const definition = settingCatalogue.find((candidate) => candidate.name === name);
  assert.ok(definition !== undefined, name);
  return definition;
}
