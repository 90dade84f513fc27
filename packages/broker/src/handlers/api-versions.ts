/**
 * ApiVersions (key 18), v0-4. Lists every API this broker serves with its version range
 * (api-version-ranges.ts). An unsupported ApiVersions version never reaches this handler: the
 * router answers it in the v0 format with UNSUPPORTED_VERSION. No features are finalized yet, so
 * the v3+ feature lists are empty.
 */
import { ErrorCode, apiVersionsApi } from '@tributary/protocol';
import { advertisedApiVersions } from '../api-version-ranges.ts';
import { defineHandler } from '../handler.ts';

export const apiVersionsHandler = defineHandler(apiVersionsApi, () => ({
  errorCode: ErrorCode.NONE,
  apiKeys: [...advertisedApiVersions.values()],
  throttleTimeMs: 0,
}));
