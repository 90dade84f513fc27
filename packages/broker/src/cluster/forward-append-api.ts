/**
 * ForwardAppend: a Tributary-only API between brokers of one cluster (zone routing, CLUSTER.md
 * "the produce path"). A broker that took a produce for a partition led in another zone has
 * already written the batches into its own WAL object; it sends the leader only their headers
 * and locations, and the leader checks them (producer sequences, transactions), assigns offsets
 * and commits them under its lease: the record bytes never cross zones.
 *
 * Framed as every broker-to-broker API (json-broker-api.ts).
 */
import { jsonBrokerApi } from './json-broker-api.ts';

/** Outside Kafka's range of API keys (0-99 so far). */
export const forwardAppendApiKey = 32_001;
export const forwardAppendVersion = 0;

export interface ForwardedBatch {
  /** The record batch's first 61 bytes (its header), base64. */
  readonly header: string;
  readonly objectId: number;
  readonly position: number;
  readonly sizeBytes: number;
  readonly entryVersion: number;
}

export interface ForwardAppendRequest {
  readonly topicId: string;
  readonly partition: number;
  readonly transactionalId: string | null;
  /** The client's Produce version (v12+ adds transactional partitions implicitly). */
  readonly produceVersion: number;
  /** LogAppendTime the forwarding broker wrote into the batches, ms; "-1" when not used. */
  readonly appendTimeMs: string;
  readonly batches: readonly ForwardedBatch[];
}

export interface ForwardAppendResponse {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  /** Decimal strings (JSON has no 64-bit integers). */
  readonly baseOffset: string;
  readonly logStartOffset: string;
}

export const forwardAppendApi = jsonBrokerApi<ForwardAppendRequest, ForwardAppendResponse>(
  forwardAppendApiKey,
  'ForwardAppend',
);
