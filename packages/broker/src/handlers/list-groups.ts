/** ListGroups (key 16), v0-5, with the states filter (v4+) and types filter (v5: "classic" only). */
import { listGroupsApi, type ListGroupsResponseInit } from '@tributary/protocol';
import { submitGroupCommand } from '../groups/group-request.ts';
import { defineHandler } from '../handler.ts';

export const listGroupsHandler = defineHandler(listGroupsApi, async (context, request) => {
  const answer = await submitGroupCommand(context, (caller) => ({
    kind: 'list',
    caller,
    statesFilter: request.statesFilter,
    typesFilter: request.typesFilter,
  }));
  if (typeof answer === 'number') return { errorCode: answer, groups: [] };
  return answer as ListGroupsResponseInit;
});
