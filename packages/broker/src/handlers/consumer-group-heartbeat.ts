/**
 * ConsumerGroupHeartbeat (key 68), v0-1: the KIP-848 consumer group protocol (join, heartbeat,
 * reconcile, leave in one API; groups/consumer-group-heartbeat.ts). v0 lets the coordinator
 * choose a member id; v1 requires the client's own and adds SubscribedTopicRegex (matched as a
 * JavaScript regular expression over whole topic names: ADR 0007). Server assignors: uniform
 * (default) and range.
 */
import {
  ErrorCode,
  consumerGroupHeartbeatApi,
  type ConsumerGroupHeartbeatResponseInit,
} from '@tributary/protocol';
import { submitGroupCommand } from '../groups/group-request.ts';
import { AclOperation, ResourceType } from '../security/acl-codes.ts';
import { authorized, authorizedNames, groupResource } from '../security/request-authorization.ts';
import { defineHandler } from '../handler.ts';

export const consumerGroupHeartbeatHandler = defineHandler(
  consumerGroupHeartbeatApi,
  async (context, request) => {
    const { storage } = context.runtime;
    if (!authorized(context, AclOperation.READ, groupResource(request.groupId))) {
      return refused(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    }
    // Kafka 4.0: every subscribed topic name must be one the member may DESCRIBE.
    const subscribed = request.subscribedTopicNames ?? [];
    const described = authorizedNames(
      context,
      AclOperation.DESCRIBE,
      ResourceType.TOPIC,
      subscribed,
    );
    if (described.size < new Set(subscribed).size) {
      return refused(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    }
    // The coordinator asks once per regex member, within one synchronous apply: list them once.
    let names: string[] | undefined;
    const answer = await submitGroupCommand(context, (caller) => ({
      kind: 'consumerHeartbeat',
      caller,
      request,
      topics: {
        topic: (name) => storage.getTopic(name),
        topicNames: () => (names ??= storage.listTopics().map((topic) => topic.name)),
      },
    }));
    if (typeof answer !== 'number') return answer as ConsumerGroupHeartbeatResponseInit;
    return { errorCode: answer, memberEpoch: 0, heartbeatIntervalMs: 0 };
  },
);

function refused(errorCode: number) {
  return { errorCode, memberEpoch: 0, heartbeatIntervalMs: 0 };
}
