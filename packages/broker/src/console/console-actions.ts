/**
 * The console's changes besides offset resets: create a topic (CreateTopics) and delete records
 * below an offset (DeleteRecords), through the broker's own handlers so every check Kafka makes
 * (names, partition counts, configs, offsets in range) applies unchanged.
 */
import type { ActionResult, CreateTopicRequest, DeleteRecordsRequest } from '@tributary/console';
import { createTopicsApi, deleteRecordsApi, errorName } from '@tributary/protocol';
import type { BrokerRuntime } from '../broker-runtime.ts';
import { ConsoleRequestError } from './console-request-error.ts';
import { callApi, type ConsoleCaller } from './in-process-api.ts';

/** How long the handlers may take (their timeoutMs). */
const actionTimeoutMs = 30_000;

export async function createTopic(
  runtime: BrokerRuntime,
  caller: ConsoleCaller,
  request: CreateTopicRequest,
): Promise<ActionResult> {
  if (typeof request.name !== 'string' || !Number.isInteger(request.partitions)) {
    throw new ConsoleRequestError('a topic needs a name and a whole number of partitions');
  }
  const answer = await callApi(runtime, caller, createTopicsApi, 7, {
    timeoutMs: actionTimeoutMs,
    topics: [
      {
        name: request.name,
        numPartitions: request.partitions,
        replicationFactor: -1,
        configs: Object.entries(request.configs ?? {}).map(([name, value]) => ({
          name,
          value: String(value),
        })),
      },
    ],
  });
  const [result] = answer.topics;
  if (result === undefined || result.errorCode !== 0) {
    const code = result?.errorCode ?? -1;
    throw new ConsoleRequestError(
      `${errorName(code)}${result?.errorMessage ? `: ${result.errorMessage}` : ''}`,
      409,
    );
  }
  return { ok: true, message: `created ${request.name} with ${result.numPartitions} partitions` };
}

export async function deleteRecords(
  runtime: BrokerRuntime,
  caller: ConsoleCaller,
  topic: string,
  request: DeleteRecordsRequest,
): Promise<ActionResult> {
  if (!Number.isInteger(request.partition) || !Number.isSafeInteger(request.beforeOffset)) {
    throw new ConsoleRequestError('delete records needs a partition and an offset');
  }
  const answer = await callApi(runtime, caller, deleteRecordsApi, 2, {
    timeoutMs: actionTimeoutMs,
    topics: [
      {
        name: topic,
        partitions: [{ partitionIndex: request.partition, offset: BigInt(request.beforeOffset) }],
      },
    ],
  });
  const result = answer.topics[0]?.partitions[0];
  if (result === undefined || result.errorCode !== 0) {
    throw new ConsoleRequestError(errorName(result?.errorCode ?? -1), 409);
  }
  return {
    ok: true,
    message: `${topic}-${request.partition} now starts at offset ${result.lowWatermark}`,
  };
}
