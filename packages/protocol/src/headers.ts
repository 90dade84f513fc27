/**
 * Which request and response header version goes with an API version. Flexible API versions
 * use request header v2 (tagged fields) and response header v1; others v1 and v0. Two Kafka
 * exceptions: ApiVersions responses always use header v0, so that a client that does not yet
 * know the broker's versions can parse the answer (KIP-511), and ControlledShutdown v0 used
 * request header v0 (no client id).
 */
import { ApiKey, apisByKey } from './generated/apis.ts';

/** ControlledShutdown is controller-only in Kafka 4, so it has no generated codec. */
const controlledShutdownApiKey = 7;

function isFlexible(apiKey: number, apiVersion: number): boolean {
  const flexibleMinVersion = apisByKey.get(apiKey)?.flexibleMinVersion ?? null;
  return flexibleMinVersion !== null && apiVersion >= flexibleMinVersion;
}

export function requestHeaderVersion(apiKey: number, apiVersion: number): number {
  if (apiKey === controlledShutdownApiKey && apiVersion === 0) return 0;
  return isFlexible(apiKey, apiVersion) ? 2 : 1;
}

export function responseHeaderVersion(apiKey: number, apiVersion: number): number {
  if (apiKey === ApiKey.ApiVersions) return 0;
  return isFlexible(apiKey, apiVersion) ? 1 : 0;
}
