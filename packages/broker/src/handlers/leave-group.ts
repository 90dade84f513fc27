/**
 * LeaveGroup (key 13), v0-5: one member by id (v0-2) or a batch of members by id and/or
 * group.instance.id (v3+, KIP-345). The remaining members rebalance.
 */
import { ErrorCode, leaveGroupApi, type LeaveGroupResponseInit } from '@tributary/protocol';
import { submitGroupCommand } from '../groups/group-request.ts';
import { AclOperation } from '../security/acl-codes.ts';
import { authorized, groupResource } from '../security/request-authorization.ts';
import { defineHandler } from '../handler.ts';

export const leaveGroupHandler = defineHandler(leaveGroupApi, async (context, request) => {
  const members =
    context.apiVersion < 3
      ? [{ memberId: request.memberId, groupInstanceId: null }]
      : request.members.map(({ memberId, groupInstanceId }) => ({ memberId, groupInstanceId }));
  if (!authorized(context, AclOperation.READ, groupResource(request.groupId))) {
    return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, members: [] };
  }
  const answer = await submitGroupCommand(context, (caller) => ({
    kind: 'leave',
    caller,
    groupId: request.groupId,
    members,
  }));
  if (typeof answer === 'number') return { errorCode: answer, members: [] };
  const result = answer as LeaveGroupResponseInit;
  if (context.apiVersion >= 3) return result;
  return { errorCode: result.members?.[0]?.errorCode ?? ErrorCode.NONE, members: [] };
});
