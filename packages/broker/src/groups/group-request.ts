/**
 * How a group API handler reaches the coordinator: builds the caller identity from the request
 * context and turns "cannot answer now" into the Kafka error code the client should get, so each
 * handler only shapes its own error response. Both codes used here are retriable: clients back
 * off, rediscover the coordinator and retry.
 */
import { ErrorCode } from '@tributary/protocol';
import type { RequestContext } from '../handler.ts';
import type { GroupResponse } from './group-apply-context.ts';
import type { Caller, GroupCommand } from './group-coordinator.ts';
import { GroupUnavailableError } from './group-runtime.ts';

/** The coordinator's answer, or the error code to answer with instead. */
export async function submitGroupCommand(
  context: RequestContext,
  make: (caller: Caller) => GroupCommand,
): Promise<GroupResponse | number> {
  const info = {
    apiVersion: context.apiVersion,
    clientId: context.clientId ?? '',
    clientHost: `/${context.peer.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')}`,
  };
  try {
    return await context.runtime.groups.submit(info, make);
  } catch (error: unknown) {
    if (error instanceof GroupUnavailableError) return error.errorCode;
    context.runtime.log.error('group request failed', { error: String(error) });
    return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  }
}
