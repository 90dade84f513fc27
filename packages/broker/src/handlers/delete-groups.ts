/** DeleteGroups (key 42), v0-2: only groups without members (else NON_EMPTY_GROUP), offsets included. */
import { ErrorCode, deleteGroupsApi, type DeleteGroupsResponseInit } from '@tributary/protocol';
import { submitGroupCommand } from '../groups/group-request.ts';
import { AclOperation, ResourceType } from '../security/acl-codes.ts';
import { authorizedNames } from '../security/request-authorization.ts';
import { defineHandler } from '../handler.ts';

export const deleteGroupsHandler = defineHandler(deleteGroupsApi, async (context, request) => {
  const names = request.groupsNames;
  const allowed = authorizedNames(context, AclOperation.DELETE, ResourceType.GROUP, names);
  const denied = names
    .filter((groupId) => !allowed.has(groupId))
    .map((groupId) => ({ groupId, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED }));
  if (allowed.size === 0) return { results: denied };
  const answer = await submitGroupCommand(context, (caller) => ({
    kind: 'deleteGroups',
    caller,
    groupIds: names.filter((groupId) => allowed.has(groupId)),
  }));
  if (typeof answer !== 'number') {
    const results = (answer as DeleteGroupsResponseInit).results ?? [];
    return { results: [...results, ...denied] };
  }
  const results = [...allowed].map((groupId) => ({ groupId, errorCode: answer }));
  return { results: [...results, ...denied] };
});
