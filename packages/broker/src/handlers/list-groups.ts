/** ListGroups (key 16), v0-5, with the states filter (v4+) and types filter (v5: "classic" only). */
import { ErrorCode, listGroupsApi, type ListGroupsResponseInit } from '@tributary/protocol';
import { submitGroupCommand } from '../groups/group-request.ts';
import { AclOperation } from '../security/acl-codes.ts';
import { authorized, clusterResource, groupResource } from '../security/request-authorization.ts';
import { defineHandler } from '../handler.ts';

export const listGroupsHandler = defineHandler(listGroupsApi, async (context, request) => {
  const answer = await submitGroupCommand(context, (caller) => ({
    kind: 'list',
    caller,
    statesFilter: request.statesFilter,
    typesFilter: request.typesFilter,
  }));
  // A broker that coordinates no group (cluster mode, not holding the __consumer_offsets lease)
  // lists none, as Kafka's does: admin clients ask every broker and merge the answers.
  if (answer === ErrorCode.NOT_COORDINATOR) return { errorCode: ErrorCode.NONE, groups: [] };
  if (typeof answer === 'number') return { errorCode: answer, groups: [] };
  const listed = answer as ListGroupsResponseInit;
  // Kafka lists every group to DESCRIBE on the cluster, else the groups one may DESCRIBE.
  if (authorized(context, AclOperation.DESCRIBE, clusterResource, { logIfDenied: false })) {
    return listed;
  }
  const groups = (listed.groups ?? []).filter(({ groupId }) =>
    authorized(context, AclOperation.DESCRIBE, groupResource(groupId ?? ''), {
      logIfDenied: false,
    }),
  );
  return { ...listed, groups };
});
