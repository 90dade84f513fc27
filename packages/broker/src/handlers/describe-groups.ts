/**
 * DescribeGroups (key 15), v0-6. Members' metadata and assignments are shown only when the group
 * is Stable, as Kafka does. An unknown group is "Dead" (v0-5) or GROUP_ID_NOT_FOUND (v6).
 * Authorized operations are not computed (no ACLs yet).
 */
import { ErrorCode, describeGroupsApi, type DescribeGroupsResponseInit } from '@tributary/protocol';
import { submitGroupCommand } from '../groups/group-request.ts';
import { defineHandler } from '../handler.ts';

const OPERATIONS_NOT_REQUESTED = -2147483648;

export const describeGroupsHandler = defineHandler(describeGroupsApi, async (context, request) => {
  const answer = await submitGroupCommand(context, (caller) => ({
    kind: 'describe',
    caller,
    groupIds: request.groups,
  }));
  if (typeof answer === 'number') {
    return { groups: request.groups.map((groupId) => ({ groupId, errorCode: answer })) };
  }
  const groups = ((answer as DescribeGroupsResponseInit).groups ?? []).map((group) => ({
    ...group,
    errorCode:
      context.apiVersion >= 6 && group.groupState === 'Dead'
        ? ErrorCode.GROUP_ID_NOT_FOUND
        : group.errorCode,
    authorizedOperations: OPERATIONS_NOT_REQUESTED,
  }));
  return { groups };
});
