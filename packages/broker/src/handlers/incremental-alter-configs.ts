/**
 * IncrementalAlterConfigs (key 44), v0-1: SET, DELETE, APPEND and SUBTRACT on single topic
 * configs (APPEND/SUBTRACT treat the value as a comma-separated list, e.g. cleanup.policy).
 * See topic-config-changes.ts.
 */
import { incrementalAlterConfigsApi } from '@tributary/protocol';
import { defineHandler } from '../handler.ts';
import { applyConfigChanges } from '../topic-config-changes.ts';

export const incrementalAlterConfigsHandler = defineHandler(
  incrementalAlterConfigsApi,
  async (context, request) => {
    const responses = [];
    for (const resource of request.resources) {
      const result = await applyConfigChanges(context.runtime, {
        resourceType: resource.resourceType,
        resourceName: resource.resourceName,
        changes: resource.configs.map((config) => ({
          name: config.name,
          operation: config.configOperation,
          value: config.value,
        })),
        replaceAll: false,
        validateOnly: request.validateOnly,
      });
      responses.push({
        resourceType: resource.resourceType,
        resourceName: resource.resourceName,
        errorCode: result.errorCode,
        errorMessage: result.errorMessage === '' ? null : result.errorMessage,
      });
    }
    return { throttleTimeMs: 0, responses };
  },
);
