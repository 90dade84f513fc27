/** DeleteGroups (key 42), v0-2: only groups without members (else NON_EMPTY_GROUP), offsets included. */
import { deleteGroupsApi, type DeleteGroupsResponseInit } from '@tributary/protocol';
import { submitGroupCommand } from '../groups/group-request.ts';
import { defineHandler } from '../handler.ts';

export const deleteGroupsHandler = defineHandler(deleteGroupsApi, async (context, request) => {
  const answer = await submitGroupCommand(context, (caller) => ({
    kind: 'deleteGroups',
    caller,
    groupIds: request.groupsNames,
  }));
  if (typeof answer !== 'number') return answer as DeleteGroupsResponseInit;
  return { results: request.groupsNames.map((groupId) => ({ groupId, errorCode: answer })) };
});
