/**
 * FindCoordinator (key 10), v0-6: single `key` (v0-3) and batched `coordinator_keys` (v4+).
 * This broker coordinates everything (embedded mode), so every group key (key_type 0) and every
 * transactional id (key_type 1: the transaction coordinator will live here too) is answered
 * with this broker. Other key types are INVALID_REQUEST.
 */
import { ErrorCode, findCoordinatorApi } from '@tributary/protocol';
import { defineHandler } from '../handler.ts';

const GROUP_KEY = 0;
const TRANSACTION_KEY = 1;

export const findCoordinatorHandler = defineHandler(findCoordinatorApi, (context, request) => {
  const { runtime, apiVersion } = context;
  const known = request.keyType === GROUP_KEY || request.keyType === TRANSACTION_KEY;
  const node = known
    ? { nodeId: runtime.nodeId, host: runtime.advertised.host, port: runtime.advertised.port }
    : { nodeId: -1, host: '', port: -1 };
  const errorCode = known ? ErrorCode.NONE : ErrorCode.INVALID_REQUEST;
  const errorMessage = known ? null : `unknown key type ${request.keyType}`;
  if (apiVersion < 4) return { throttleTimeMs: 0, errorCode, errorMessage, ...node };
  return {
    throttleTimeMs: 0,
    coordinators: request.coordinatorKeys.map((key) => ({ key, ...node, errorCode, errorMessage })),
  };
});
