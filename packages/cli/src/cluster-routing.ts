/**
 * Where an admin request goes in a cluster, as Kafka's admin client sends it: requests about one
 * group or transactional id to its coordinator (FindCoordinator first), and listings
 * (ListGroups, ListTransactions) to every broker, since each answers for what it coordinates.
 * With one broker (embedded mode) both are that broker.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, findCoordinatorApi, metadataApi } from '@tributary/protocol';
import type { Endpoint } from './endpoint.ts';
import { checkErrorCode } from './kafka-admin-error.ts';
import type { KafkaConnection } from './kafka-connection.ts';

/** Opens a connection to a broker with the command's own options (timeouts, security). */
export type Connect = (endpoint: Endpoint) => Promise<KafkaConnection>;

export const coordinatorKeyType = { group: 0, transaction: 1 } as const;

/** How long FindCoordinator is asked again while the coordinator loads or moves. */
const coordinatorWaitMs = 10_000;
const coordinatorRetryMs = 250;
const retriableCoordinatorErrors = new Set<number>([
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.NOT_COORDINATOR,
]);

/** A connection to the coordinator of `key`, found through `bootstrap`. */
export async function connectToCoordinator(
  bootstrap: KafkaConnection,
  key: string,
  keyType: number,
  connect: Connect,
): Promise<KafkaConnection> {
  const giveUpAt = Date.now() + coordinatorWaitMs;
  for (;;) {
    const response = await bootstrap.request(findCoordinatorApi, 4, {
      keyType,
      coordinatorKeys: [key],
    });
    const found = response.coordinators[0];
    const errorCode = found?.errorCode ?? ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (errorCode === ErrorCode.NONE && found !== undefined) {
      return connect({ host: found.host, port: found.port });
    }
    if (!retriableCoordinatorErrors.has(errorCode) || Date.now() >= giveUpAt) {
      checkErrorCode(`FindCoordinator '${key}'`, errorCode);
    }
    await sleep(coordinatorRetryMs);
  }
}

/**
 * `work` run on every live broker, found through `bootstrap`'s Metadata; the answers in broker
 * order. A broker that cannot be reached fails the whole listing: a partial list would look
 * complete.
 */
export async function onEveryBroker<T>(
  bootstrap: KafkaConnection,
  connect: Connect,
  work: (connection: KafkaConnection) => Promise<T>,
): Promise<T[]> {
  const metadata = await bootstrap.request(metadataApi, 12, {
    topics: [],
    allowAutoTopicCreation: false,
    includeTopicAuthorizedOperations: false,
  });
  const brokers = metadata.brokers.toSorted((a, b) => a.nodeId - b.nodeId);
  const answers: T[] = [];
  for (const broker of brokers) {
    const connection = await connect({ host: broker.host, port: broker.port });
    try {
      answers.push(await work(connection));
    } finally {
      connection.close();
    }
  }
  return answers;
}
