// The real clients the scenario drives are installed and the driver scripts load. These run
// without a broker, so a missing apt package shows up here as itself, not as a scenario failure.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kcatPath, runCommand, runPythonDriver, systemPython } from '../../src/index.ts';

test('kcat is installed and linked to librdkafka 2.x', async () => {
  const result = await runCommand(kcatPath, ['-V'], { timeoutMs: 10_000 });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /librdkafka 2\.\d+\.\d+/);
  assert.match(result.stdout, /zstd/);
});

test('python3-confluent-kafka and kafka-python import under /usr/bin/python3', async () => {
  const script =
    'import confluent_kafka, kafka; print(confluent_kafka.libversion()[0], kafka.__version__)';
  const result = await runCommand(systemPython, ['-c', script], { timeoutMs: 20_000 });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^2\.\d+\.\d+ 2\.\d+\.\d+/);
});

test('kafka-python has every codec (python3-snappy, -lz4, -zstandard)', async () => {
  const codecs = await runPythonDriver(
    'kafka_python_driver.py',
    { op: 'codecs', bootstrap: '127.0.0.1:9' },
    20_000,
  );
  assert.deepEqual(codecs, ['gzip', 'lz4', 'snappy', 'zstd']);
});

test('a driver script reports client errors as JSON, within its timeout', async () => {
  // Port 9 (discard) has no Kafka broker: the client must fail and say so, not hang.
  await assert.rejects(
    runPythonDriver(
      'confluent_kafka_driver.py',
      { op: 'list_topics', bootstrap: '127.0.0.1:9' },
      2_000,
    ),
    /confluent_kafka_driver.py list_topics: KafkaException/,
  );
});
