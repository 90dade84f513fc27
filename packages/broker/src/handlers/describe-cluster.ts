/**
 * DescribeCluster (key 60), v0-1. One broker, which is also the "controller" clients are told of.
 * Endpoint type 2 (controllers) is refused with UNSUPPORTED_ENDPOINT_TYPE: there is no separate
 * controller quorum to describe.
 */
import { ErrorCode, describeClusterApi } from '@tributary/protocol';
import { defineHandler } from '../handler.ts';

const BROKERS_ENDPOINT = 1;
const OPERATIONS_NOT_REQUESTED = -2147483648;

export const describeClusterHandler = defineHandler(describeClusterApi, (context, request) => {
  const { runtime } = context;
  const base = {
    throttleTimeMs: 0,
    endpointType: request.endpointType,
    clusterId: runtime.clusterId,
    controllerId: runtime.nodeId,
    clusterAuthorizedOperations: OPERATIONS_NOT_REQUESTED,
  };
  if (context.apiVersion >= 1 && request.endpointType !== BROKERS_ENDPOINT) {
    return {
      ...base,
      errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
      errorMessage: 'only broker endpoints exist',
      brokers: [],
    };
  }
  return {
    ...base,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    brokers: [{ brokerId: runtime.nodeId, ...runtime.advertised, rack: null, isFenced: false }],
  };
});
