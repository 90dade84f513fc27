/**
 * ApiVersions (key 18), v0-4. Lists every API this broker serves with its version range
 * (api-version-ranges.ts). An unsupported ApiVersions version never reaches this handler: the
 * router answers it in the v0 format with UNSUPPORTED_VERSION.
 *
 * v3+ also carry the cluster's features. `transaction.version` is finalized at 2, as on a
 * Kafka 4 cluster: clients that read it (the Java client from 4.0) then use KIP-890 part 2
 * (Produce v12, TxnOffsetCommit v5, EndTxn v5 with an epoch bump per transaction). The features
 * never change while the broker runs, so their epoch is a constant; the Java client takes
 * finalized features only from an epoch above -1.
 */
import { ErrorCode, apiVersionsApi } from '@tributary/protocol';
import { advertisedApiVersions } from '../api-version-ranges.ts';
import { defineHandler } from '../handler.ts';

const transactionVersionFeature = 'transaction.version';
const transactionVersion = 2;

export const apiVersionsHandler = defineHandler(apiVersionsApi, () => ({
  errorCode: ErrorCode.NONE,
  apiKeys: [...advertisedApiVersions.values()],
  throttleTimeMs: 0,
  supportedFeatures: [
    { name: transactionVersionFeature, minVersion: 0, maxVersion: transactionVersion },
  ],
  finalizedFeaturesEpoch: 1n,
  finalizedFeatures: [
    {
      name: transactionVersionFeature,
      maxVersionLevel: transactionVersion,
      minVersionLevel: transactionVersion,
    },
  ],
}));
