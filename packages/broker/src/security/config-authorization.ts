/**
 * Authorization of config resources, as Kafka's ConfigHelper and KafkaApis check them:
 * DESCRIBE_CONFIGS (DescribeConfigs) or ALTER_CONFIGS (AlterConfigs, IncrementalAlterConfigs) on
 * the topic for a TOPIC resource (TOPIC_AUTHORIZATION_FAILED), on the group for a GROUP resource
 * (GROUP_AUTHORIZATION_FAILED), and on the cluster for BROKER, BROKER_LOGGER and CLIENT_METRICS
 * resources (CLUSTER_AUTHORIZATION_FAILED).
 */
import { ErrorCode } from '@tributary/protocol';
import type { ChangeRequest } from '../config-resources.ts';
import type { RequestContext } from '../handler.ts';
import { alterConfigResources, type ConfigResourceAnswer } from '../topic-config-changes.ts';
import { AclOperation } from './acl-codes.ts';
import {
  authorized,
  clusterResource,
  groupResource,
  topicResource,
  type ResourceRef,
} from './request-authorization.ts';

/** Kafka's ConfigResource.Type codes that name an ACL resource. */
const configTopic = 2;
const configGroup = 32;

/** The error for a config resource the request may not act on, or undefined. */
export function configResourceRefusal(
  context: RequestContext,
  operation: number,
  resource: { readonly resourceType: number; readonly resourceName: string },
): number | undefined {
  let target: ResourceRef = clusterResource;
  let errorCode: number = ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
  if (resource.resourceType === configTopic) {
    target = topicResource(resource.resourceName);
    errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
  } else if (resource.resourceType === configGroup) {
    target = groupResource(resource.resourceName);
    errorCode = ErrorCode.GROUP_AUTHORIZATION_FAILED;
  }
  return authorized(context, operation, target) ? undefined : errorCode;
}

/** AlterConfigs and IncrementalAlterConfigs: the authorized changes applied, the rest refused. */
export async function alterAuthorizedConfigs(
  context: RequestContext,
  requests: readonly ChangeRequest[],
): Promise<ConfigResourceAnswer[]> {
  const refusals = requests.map((request) =>
    configResourceRefusal(context, AclOperation.ALTER_CONFIGS, request),
  );
  const allowed = requests.filter((_, i) => refusals[i] === undefined);
  const applied = await alterConfigResources(context.runtime, allowed);
  let next = 0;
  return requests.map((request, i) => {
    const errorCode = refusals[i];
    if (errorCode === undefined) {
      const answer = applied[next++];
      if (answer !== undefined) return answer;
    }
    const { resourceType, resourceName } = request;
    return { resourceType, resourceName, errorCode: errorCode ?? 0, errorMessage: null };
  });
}
