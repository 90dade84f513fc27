/** Heartbeat (key 12), v0-4: keeps a member's session alive; REBALANCE_IN_PROGRESS asks it to rejoin. */
import { ErrorCode, heartbeatApi, type HeartbeatResponseInit } from '@tributary/protocol';
import { submitGroupCommand } from '../groups/group-request.ts';
import { AclOperation } from '../security/acl-codes.ts';
import { authorized, groupResource } from '../security/request-authorization.ts';
import { defineHandler } from '../handler.ts';

export const heartbeatHandler = defineHandler(heartbeatApi, async (context, request) => {
  if (!authorized(context, AclOperation.READ, groupResource(request.groupId))) {
    return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
  }
  const answer = await submitGroupCommand(context, (caller) => ({
    kind: 'heartbeat',
    caller,
    request,
  }));
  if (typeof answer !== 'number') return answer as HeartbeatResponseInit;
  return { errorCode: answer };
});
