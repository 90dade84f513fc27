/** Every API handler this broker serves; the router advertises exactly these. */
import type { Handler } from '../handler.ts';
import { addOffsetsToTxnHandler } from './add-offsets-to-txn.ts';
import { addPartitionsToTxnHandler } from './add-partitions-to-txn.ts';
import { alterConfigsHandler } from './alter-configs.ts';
import { auditAppendHandler } from './audit-append.ts';
import { alterUserScramCredentialsHandler } from './alter-user-scram-credentials.ts';
import { apiVersionsHandler } from './api-versions.ts';
import { createAclsHandler } from './create-acls.ts';
import { createPartitionsHandler } from './create-partitions.ts';
import { consumerGroupDescribeHandler } from './consumer-group-describe.ts';
import { consumerGroupHeartbeatHandler } from './consumer-group-heartbeat.ts';
import { createTopicsHandler } from './create-topics.ts';
import { deleteAclsHandler } from './delete-acls.ts';
import { deleteRecordsHandler } from './delete-records.ts';
import { writeTxnMarkersHandler } from './write-txn-markers.ts';
import { forwardAppendHandler } from './forward-append.ts';
import { deleteTopicsHandler } from './delete-topics.ts';
import { describeAclsHandler } from './describe-acls.ts';
import { describeClusterHandler } from './describe-cluster.ts';
import { describeConfigsHandler } from './describe-configs.ts';
import { endTxnHandler } from './end-txn.ts';
import { fetchHandler } from './fetch.ts';
import { incrementalAlterConfigsHandler } from './incremental-alter-configs.ts';
import { initProducerIdHandler } from './init-producer-id.ts';
import { listOffsetsHandler } from './list-offsets.ts';
import { offsetForLeaderEpochHandler } from './offset-for-leader-epoch.ts';
import { metadataHandler } from './metadata.ts';
import { produceHandler } from './produce.ts';
import { saslAuthenticateHandler } from './sasl-authenticate.ts';
import { saslHandshakeHandler } from './sasl-handshake.ts';
import { deleteGroupsHandler } from './delete-groups.ts';
import { describeGroupsHandler } from './describe-groups.ts';
import { describeProducersHandler } from './describe-producers.ts';
import { describeTransactionsHandler } from './describe-transactions.ts';
import { describeUserScramCredentialsHandler } from './describe-user-scram-credentials.ts';
import { describeClientQuotasHandler } from './describe-client-quotas.ts';
import { alterClientQuotasHandler } from './alter-client-quotas.ts';
import { findCoordinatorHandler } from './find-coordinator.ts';
import { heartbeatHandler } from './heartbeat.ts';
import { joinGroupHandler } from './join-group.ts';
import { leaveGroupHandler } from './leave-group.ts';
import { listGroupsHandler } from './list-groups.ts';
import { listTransactionsHandler } from './list-transactions.ts';
import { offsetCommitHandler } from './offset-commit.ts';
import { offsetDeleteHandler } from './offset-delete.ts';
import { offsetFetchHandler } from './offset-fetch.ts';
import { syncGroupHandler } from './sync-group.ts';
import { txnOffsetCommitHandler } from './txn-offset-commit.ts';

export const allHandlers: readonly Handler[] = [
  produceHandler,
  fetchHandler,
  listOffsetsHandler,
  offsetForLeaderEpochHandler,
  metadataHandler,
  apiVersionsHandler,
  createTopicsHandler,
  deleteTopicsHandler,
  deleteRecordsHandler,
  writeTxnMarkersHandler,
  forwardAppendHandler,
  auditAppendHandler,
  describeConfigsHandler,
  alterConfigsHandler,
  createPartitionsHandler,
  incrementalAlterConfigsHandler,
  describeClusterHandler,
  initProducerIdHandler,
  findCoordinatorHandler,
  joinGroupHandler,
  syncGroupHandler,
  heartbeatHandler,
  leaveGroupHandler,
  offsetCommitHandler,
  offsetFetchHandler,
  describeGroupsHandler,
  listGroupsHandler,
  deleteGroupsHandler,
  offsetDeleteHandler,
  consumerGroupHeartbeatHandler,
  consumerGroupDescribeHandler,
  addPartitionsToTxnHandler,
  addOffsetsToTxnHandler,
  endTxnHandler,
  txnOffsetCommitHandler,
  describeProducersHandler,
  describeTransactionsHandler,
  listTransactionsHandler,
  describeAclsHandler,
  createAclsHandler,
  deleteAclsHandler,
  describeUserScramCredentialsHandler,
  describeClientQuotasHandler,
  alterClientQuotasHandler,
  alterUserScramCredentialsHandler,
  saslHandshakeHandler,
  saslAuthenticateHandler,
];
