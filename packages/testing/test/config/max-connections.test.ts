/**
 * max.connections: connections past the limit are closed on accept, the ones already open keep
 * working, and raising the limit with IncrementalAlterConfigs on the broker resource takes
 * effect for the next connection without a restart.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startBroker, type RunningBroker } from '@tributary/broker';
import { KafkaConnection } from '@tributary/cli';
import { apiVersionsApi, ErrorCode, incrementalAlterConfigsApi } from '@tributary/protocol';

const brokerResourceType = 4;
const setOperation = 0;
const reconnectAttempts = 50;

const open: KafkaConnection[] = [];
let broker: RunningBroker | undefined;
after(async () => {
  for (const connection of open) connection.close();
  await broker?.close();
});

/** Connects and completes one ApiVersions round trip; false when the broker closed it. */
async function usableConnection(port: number): Promise<KafkaConnection | undefined> {
  let connection: KafkaConnection;
  try {
    connection = await KafkaConnection.connect({ host: '127.0.0.1', port });
  } catch {
    return undefined;
  }
  try {
    const response = await connection.request(apiVersionsApi, 3, {
      clientSoftwareName: 'max-connections-test',
      clientSoftwareVersion: '1',
    });
    assert.equal(response.errorCode, ErrorCode.NONE);
    open.push(connection);
    return connection;
  } catch {
    connection.close();
    return undefined;
  }
}

/** The broker frees a slot when it sees the close; poll a bounded number of times for it. */
async function usableAfterClose(port: number): Promise<KafkaConnection> {
  for (let attempt = 0; attempt < reconnectAttempts; attempt++) {
    const connection = await usableConnection(port);
    if (connection !== undefined) return connection;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail('no connection accepted after one was closed');
}

test('max.connections closes connections past the limit and can be raised live', async () => {
  broker = await startBroker({
    host: '127.0.0.1',
    port: 0,
    inMemory: true,
    quiet: true,
    settings: new Map([['max.connections', { value: '2', origin: 'test' }]]),
  });
  const { port } = broker;
  const first = await usableConnection(port);
  const second = await usableConnection(port);
  assert.ok(first !== undefined && second !== undefined, 'two connections fit the limit');
  assert.equal(await usableConnection(port), undefined, 'the third is closed');

  first.close();
  const replacement = await usableAfterClose(port);

  const altered = await replacement.request(incrementalAlterConfigsApi, 1, {
    resources: [
      {
        resourceType: brokerResourceType,
        resourceName: String(broker.nodeId),
        configs: [{ name: 'max.connections', configOperation: setOperation, value: '3' }],
      },
    ],
  });
  assert.equal(
    altered.responses[0]?.errorCode,
    ErrorCode.NONE,
    altered.responses[0]?.errorMessage ?? '',
  );
  const third = await usableConnection(port);
  assert.ok(third !== undefined, 'a third connection fits the raised limit');
  assert.equal(await usableConnection(port), undefined, 'the fourth is closed');
  const stillWorks = await second.request(apiVersionsApi, 3, {
    clientSoftwareName: 'max-connections-test',
    clientSoftwareVersion: '1',
  });
  assert.equal(stillWorks.errorCode, ErrorCode.NONE, 'open connections are not affected');
});
