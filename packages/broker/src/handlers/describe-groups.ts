/**
 * DescribeGroups (key 15), v0-6. Members' metadata and assignments are shown only when the group
 * is Stable, as Kafka does. An unknown group is "Dead" (v0-5) or GROUP_ID_NOT_FOUND (v6).
 * A group the request may not DESCRIBE answers GROUP_AUTHORIZATION_FAILED; authorized
 * operations are computed when asked for (v3+).
 */
import { ErrorCode, describeGroupsApi, type DescribeGroupsResponseInit } from '@tributary/protocol';
import { submitGroupCommand } from '../groups/group-request.ts';
import { AclOperation, ResourceType } from '../security/acl-codes.ts';
import {
  authorizedNames,
  authorizedOperations,
  groupOperations,
  groupResource,
} from '../security/request-authorization.ts';
import { defineHandler } from '../handler.ts';

const OPERATIONS_NOT_REQUESTED = -2147483648;

export const describeGroupsHandler = defineHandler(describeGroupsApi, async (context, request) => {
  const allowed = authorizedNames(
    context,
    AclOperation.DESCRIBE,
    ResourceType.GROUP,
    request.groups,
  );
  const denied = request.groups
    .filter((groupId) => !allowed.has(groupId))
    .map((groupId) => ({ groupId, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED }));
  if (allowed.size === 0) return { groups: denied };
  const answer = await submitGroupCommand(context, (caller) => ({
    kind: 'describe',
    caller,
    groupIds: request.groups.filter((groupId) => allowed.has(groupId)),
  }));
  if (typeof answer === 'number') {
    return {
      groups: [...[...allowed].map((groupId) => ({ groupId, errorCode: answer })), ...denied],
    };
  }
  const groups = ((answer as DescribeGroupsResponseInit).groups ?? []).map((group) => ({
    ...group,
    errorCode:
      context.apiVersion >= 6 && group.groupState === 'Dead'
        ? ErrorCode.GROUP_ID_NOT_FOUND
        : group.errorCode,
    authorizedOperations: request.includeAuthorizedOperations
      ? authorizedOperations(context, groupResource(group.groupId ?? ''), groupOperations)
      : OPERATIONS_NOT_REQUESTED,
  }));
  return { groups: [...groups, ...denied] };
});
