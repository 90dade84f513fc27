/**
 * IncrementalAlterConfigs (key 44), v0-1: SET, DELETE, APPEND and SUBTRACT on single topic
 * configs and dynamic broker settings (APPEND/SUBTRACT treat the value as a comma-separated
 * list, e.g. cleanup.policy). See topic-config-changes.ts and config/broker-config-changes.ts.
 */
import { incrementalAlterConfigsApi } from '@tributary/protocol';
import { defineHandler } from '../handler.ts';
import { alterAuthorizedConfigs } from '../security/config-authorization.ts';

export const incrementalAlterConfigsHandler = defineHandler(
  incrementalAlterConfigsApi,
  async (context, request) => ({
    throttleTimeMs: 0,
    responses: await alterAuthorizedConfigs(
      context,
      request.resources.map((resource) => ({
        resourceType: resource.resourceType,
        resourceName: resource.resourceName,
        changes: resource.configs.map((config) => ({
          name: config.name,
          operation: config.configOperation,
          value: config.value,
        })),
        replaceAll: false,
        validateOnly: request.validateOnly,
      })),
    ),
  }),
);
