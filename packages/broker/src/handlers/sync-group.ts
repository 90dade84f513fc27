/**
 * SyncGroup (key 14), v0-5. The leader's assignments are handed to every member once the leader
 * syncs; v5 echoes the group's protocol type and name.
 */
import { ErrorCode, syncGroupApi, type SyncGroupResponseInit } from '@tributary/protocol';
import { submitGroupCommand } from '../groups/group-request.ts';
import { AclOperation } from '../security/acl-codes.ts';
import { authorized, groupResource } from '../security/request-authorization.ts';
import { defineHandler } from '../handler.ts';

export const syncGroupHandler = defineHandler(syncGroupApi, async (context, request) => {
  const answer = authorized(context, AclOperation.READ, groupResource(request.groupId))
    ? await submitGroupCommand(context, (caller) => ({ kind: 'sync', caller, request }))
    : ErrorCode.GROUP_AUTHORIZATION_FAILED;
  if (typeof answer !== 'number') return answer as SyncGroupResponseInit;
  return { errorCode: answer, protocolType: null, protocolName: null };
});
