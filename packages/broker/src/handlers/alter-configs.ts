/**
 * AlterConfigs (key 33), v0-2: replaces a topic's whole set of overrides, or a broker resource's
 * whole set of dynamic settings ("" or this node id; configs not named go back to their
 * defaults), as Kafka's legacy AlterConfigs does. See topic-config-changes.ts and
 * config/broker-config-changes.ts.
 */
import { alterConfigsApi } from '@tributary/protocol';
import { ConfigOperation } from '../config-resources.ts';
import { defineHandler } from '../handler.ts';
import { alterAuthorizedConfigs } from '../security/config-authorization.ts';

export const alterConfigsHandler = defineHandler(alterConfigsApi, async (context, request) => ({
  throttleTimeMs: 0,
  responses: await alterAuthorizedConfigs(
    context,
    request.resources.map((resource) => ({
      resourceType: resource.resourceType,
      resourceName: resource.resourceName,
      changes: resource.configs.map((config) => ({
        name: config.name,
        operation: config.value === null ? ConfigOperation.DELETE : ConfigOperation.SET,
        value: config.value,
      })),
      replaceAll: true,
      validateOnly: request.validateOnly,
    })),
  ),
}));
