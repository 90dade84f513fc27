/**
 * JoinGroup (key 11), v0-9. v4+ first answers MEMBER_ID_REQUIRED with an assigned member id
 * (KIP-394); v0 has no rebalance timeout, so the session timeout stands in for it, as in Kafka.
 * The answer waits until the rebalance's join phase ends (groups/group-coordinator.ts).
 */
import { ErrorCode, joinGroupApi, type JoinGroupResponseInit } from '@tributary/protocol';
import { submitGroupCommand } from '../groups/group-request.ts';
import { AclOperation } from '../security/acl-codes.ts';
import { authorized, groupResource } from '../security/request-authorization.ts';
import { defineHandler } from '../handler.ts';

export const joinGroupHandler = defineHandler(joinGroupApi, async (context, request) => {
  const joined =
    request.rebalanceTimeoutMs < 0
      ? { ...request, rebalanceTimeoutMs: request.sessionTimeoutMs }
      : request;
  const answer = authorized(context, AclOperation.READ, groupResource(request.groupId))
    ? await submitGroupCommand(context, (caller) => ({ kind: 'join', caller, request: joined }))
    : ErrorCode.GROUP_AUTHORIZATION_FAILED;
  if (typeof answer !== 'number') return answer as JoinGroupResponseInit;
  return {
    errorCode: answer,
    generationId: -1,
    protocolName: null,
    leader: '',
    memberId: request.memberId,
    members: [],
  };
});
