/** Heartbeat (key 12), v0-4: keeps a member's session alive; REBALANCE_IN_PROGRESS asks it to rejoin. */
import { heartbeatApi, type HeartbeatResponseInit } from '@tributary/protocol';
import { submitGroupCommand } from '../groups/group-request.ts';
import { defineHandler } from '../handler.ts';

export const heartbeatHandler = defineHandler(heartbeatApi, async (context, request) => {
  const answer = await submitGroupCommand(context, (caller) => ({
    kind: 'heartbeat',
    caller,
    request,
  }));
  if (typeof answer !== 'number') return answer as HeartbeatResponseInit;
  return { errorCode: answer };
});
