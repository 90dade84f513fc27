/**
 * OffsetDelete (key 47), v0: deletes committed offsets of a group. Partitions of a topic a live
 * consumer member subscribes to answer GROUP_SUBSCRIBED_TO_TOPIC; a non-empty group of another
 * protocol type answers NON_EMPTY_GROUP.
 */
import { offsetDeleteApi, type OffsetDeleteResponseInit } from '@tributary/protocol';
import { submitGroupCommand } from '../groups/group-request.ts';
import { defineHandler } from '../handler.ts';

export const offsetDeleteHandler = defineHandler(offsetDeleteApi, async (context, request) => {
  const answer = await submitGroupCommand(context, (caller) => ({
    kind: 'offsetDelete',
    caller,
    request,
  }));
  if (typeof answer !== 'number') return answer as OffsetDeleteResponseInit;
  return { errorCode: answer, topics: [] };
});
