/**
 * FindCoordinator (key 10), v0-6: single `key` (v0-3) and batched `coordinator_keys` (v4+).
 * Embedded, this broker coordinates every group key (key_type 0) and transactional id
 * (key_type 1). In cluster mode the answer is the broker leading the coordinator's internal
 * partition (cluster/coordinator-hosts.ts), or COORDINATOR_NOT_AVAILABLE while none does.
 * Other key types are INVALID_REQUEST.
 */
import { ErrorCode, findCoordinatorApi } from '@tributary/protocol';
import { liveBrokersOf } from '../cluster/partition-routing.ts';
import { defineHandler, type RequestContext } from '../handler.ts';
import { AclOperation } from '../security/acl-codes.ts';
import {
  authorized,
  groupResource,
  transactionalIdResource,
} from '../security/request-authorization.ts';

const GROUP_KEY = 0;
const TRANSACTION_KEY = 1;

export const findCoordinatorHandler = defineHandler(findCoordinatorApi, (context, request) => {
  const { runtime, apiVersion } = context;
  const known = request.keyType === GROUP_KEY || request.keyType === TRANSACTION_KEY;
  const nodeId = known
    ? runtime.coordinatorNode(request.keyType === GROUP_KEY ? 'group' : 'transaction')
    : undefined;
  const broker = liveBrokersOf(runtime).find((entry) => entry.nodeId === nodeId);
  const node =
    broker === undefined
      ? { nodeId: -1, host: '', port: -1 }
      : { nodeId: broker.nodeId, host: broker.host, port: broker.port };
  let errorCode: number = ErrorCode.NONE;
  let errorMessage: string | null = null;
  if (!known) {
    errorCode = ErrorCode.INVALID_REQUEST;
    errorMessage = `unknown key type ${request.keyType}`;
  } else if (broker === undefined) {
    errorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE;
    errorMessage = 'no broker holds the coordinator lease yet';
  }
  const answer = (key: string) => {
    const denied = known ? coordinatorKeyDenial(context, request.keyType, key) : undefined;
    if (denied === undefined) return { ...node, errorCode, errorMessage };
    return { nodeId: -1, host: '', port: -1, errorCode: denied, errorMessage: null };
  };
  if (apiVersion < 4) return { throttleTimeMs: 0, ...answer(request.key) };
  return {
    throttleTimeMs: 0,
    coordinators: request.coordinatorKeys.map((key) => ({ key, ...answer(key) })),
  };
});

/** Kafka: DESCRIBE on the group or the transactional id, else its authorization error. */
function coordinatorKeyDenial(
  context: RequestContext,
  keyType: number,
  key: string,
): number | undefined {
  if (keyType === GROUP_KEY) {
    const allowed = authorized(context, AclOperation.DESCRIBE, groupResource(key));
    return allowed ? undefined : ErrorCode.GROUP_AUTHORIZATION_FAILED;
  }
  const allowed = authorized(context, AclOperation.DESCRIBE, transactionalIdResource(key));
  return allowed ? undefined : ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
}
