/**
 * DescribeCluster (key 60), v0-1. The live brokers with their racks (one when embedded); the
 * lowest live node id is the "controller" clients are told of (there is no controller quorum).
 * Endpoint type 2 (controllers) is refused with UNSUPPORTED_ENDPOINT_TYPE: there is no separate
 * controller quorum to describe.
 */
import { ErrorCode, describeClusterApi } from '@tributary/protocol';
import { liveBrokersOf } from '../cluster/partition-routing.ts';
import { AclOperation } from '../security/acl-codes.ts';
import {
  authorized,
  authorizedOperations,
  clusterOperations,
  clusterResource,
} from '../security/request-authorization.ts';
import { defineHandler } from '../handler.ts';

const BROKERS_ENDPOINT = 1;
const OPERATIONS_NOT_REQUESTED = -2147483648;

export const describeClusterHandler = defineHandler(describeClusterApi, (context, request) => {
  const { runtime } = context;
  const brokers = liveBrokersOf(runtime);
  const base = {
    throttleTimeMs: 0,
    endpointType: request.endpointType,
    clusterId: runtime.clusterId,
    controllerId: brokers[0]?.nodeId ?? runtime.nodeId,
    // Kafka: every cluster operation allowed, to a principal that may DESCRIBE the cluster.
    clusterAuthorizedOperations: !request.includeClusterAuthorizedOperations
      ? OPERATIONS_NOT_REQUESTED
      : authorized(context, AclOperation.DESCRIBE, clusterResource)
        ? authorizedOperations(context, clusterResource, clusterOperations)
        : 0,
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
    brokers: brokers.map((broker) => ({
      brokerId: broker.nodeId,
      host: broker.host,
      port: broker.port,
      rack: broker.rack,
      isFenced: false,
    })),
  };
});
